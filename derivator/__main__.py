"""`python -m derivator FILE --wrt NAME ...`, the same as the `derive` command."""

from .cli import main

main()
