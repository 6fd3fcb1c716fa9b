"""The `soundscape` command line. Subcommands live one per module and import lazily."""
