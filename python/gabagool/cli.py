"""The `gabagool` command: one subcommand per module in `gabagool.commands`.

Every failure ends as one line on stderr and a non-zero exit: 2 for bad input (a flag, a
setting), 1 for a command that could not do its job (a store that failed, a file that could
not be written), 130 on Ctrl-C. A traceback is printed only with GABAGOOL_TRACEBACK=1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

# Each name is a module `gabagool.commands.<name>` exposing `register(subparsers)`, which
# adds its parser and sets `handler` (args -> exit code) as a default.
COMMAND_MODULES: tuple[str, ...] = (
    "state", "sim", "run", "config", "replay", "markets", "record", "backtest"
)
TRACEBACK_ENV = "GABAGOOL_TRACEBACK"


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class CommandFailed(Exception):
    """The command could not do its job (not the user's input): one line, exit code 1."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line naming the command, not the usage and an error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="gabagool",
        description="Pair accumulation on Polymarket's 15-minute crypto Up or Down markets.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"gabagool.commands.{name}").register(subparsers)
    return parser


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = f"gabagool {args.command}"
    # imported here: the store and config modules pull in more than `--help` needs
    from gabagool.config import ConfigError
    from gabagool.store import StoreError

    try:
        return int(args.handler(args))
    except (UsageError, ConfigError) as exc:
        print(f"{name}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (CommandFailed, StoreError) as exc:
        print(f"{name}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`| head`): nothing left to say, and nobody to say it to
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        # the environment failed the command (a full disk, a file that vanished)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{name}: {where}{_one_line(exc.strerror or exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last word: a line, never a traceback
        if os.environ.get(TRACEBACK_ENV):
            traceback.print_exc()
        print(
            f"{name}: internal error: {type(exc).__name__}: {_one_line(exc)} "
            f"(set {TRACEBACK_ENV}=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
