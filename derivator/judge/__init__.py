"""Judging a learner's answer: the candidate's verdict, and the diagnosis of what is wrong with it."""
