"""The `gabagool` command: one subcommand per module in `gabagool.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each name is a module `gabagool.commands.<name>` exposing `register(subparsers)`, which
# adds its parser and sets `handler` (args -> exit code) as a default.
COMMAND_MODULES: tuple[str, ...] = ("state", "sim", "run", "config", "replay", "backtest")


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gabagool",
        description="Pair accumulation on Polymarket's 15-minute crypto Up or Down markets.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"gabagool.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except UsageError as exc:
        print(f"gabagool {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
