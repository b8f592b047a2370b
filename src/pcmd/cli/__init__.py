"""The `pcmd` command line: one module per command group, assembled in `pcmd.cli.main`."""
