"""`python -m derivator FILE --wrt NAME ...`, the same as the `derive` command."""

from derivator.cli import main

main()
