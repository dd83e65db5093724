"""One module per `auditlake` subcommand, each with `add_arguments(parser)` and `main(args) -> int`."""
