"""The ``pinnff`` command: one subcommand per workflow stage.

Each stage module listed in :data:`COMMANDS` defines ``add_parser(subparsers)``
which registers its subcommand and sets ``func`` to a function taking the
parsed arguments. Heavy imports happen inside those functions, so ``--help``
stays fast. Bad input (an :class:`~pinnff.errors.InputError`) prints one
``error:`` line and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from pinnff import __version__
from pinnff.errors import InputError
from pinnff.memory import keep_freed_memory

COMMANDS = [
    "pinnff.curate.commands",
    "pinnff.label.commands",
    "pinnff.split",
    "pinnff.noise",
    "pinnff.train.commands",
    "pinnff.md.valence_commands",
    "pinnff.evaluate",
    "pinnff.validation.commands",
    "pinnff.analysis.commands",
    "pinnff.md.commands",
    "pinnff.analysis.md_figures",
]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every stage's subcommand registered."""
    parser = argparse.ArgumentParser(prog="pinnff", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pinnff {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    keep_freed_memory()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        args.func(args)
    except InputError as exc:
        print(f"pinnff {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"pinnff {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
