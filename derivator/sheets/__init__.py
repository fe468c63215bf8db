"""Exercise sheets for instructors: variants of one network at round-number points, the questions
with each network drawn, and the answer key with every step's number (`derive-sheet`)."""
