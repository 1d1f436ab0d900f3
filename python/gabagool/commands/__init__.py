"""Subcommands of the `gabagool` command line, one module each (see `gabagool.cli`)."""
