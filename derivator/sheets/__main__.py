"""`python -m derivator.sheets`: the `derive-sheet` command."""

from derivator.sheets.command import main

main()
