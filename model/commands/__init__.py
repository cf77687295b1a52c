"""Subcommands that live in modules of their own; each module exposes a click `command`."""

COMMANDS = ("prove", "vectors", "conform", "docs", "diff")
