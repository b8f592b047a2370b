"""`python -m pcmd` runs the command line."""

from pcmd.cli import main

main()
