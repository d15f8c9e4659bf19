"""One module per ``slawatch`` sub-command, each with ``register(subparsers)``.

A command module sets ``func`` on its parser: ``func(args) -> int`` (the exit code).
"""
