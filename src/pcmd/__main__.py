"""`python -m pcmd` runs the command line."""

from pcmd.cli.main import main

main()
