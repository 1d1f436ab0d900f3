"""`gabagool config show`: the effective settings, secrets redacted."""

from __future__ import annotations

import argparse
import sys

import msgspec

from gabagool.cli import UsageError
from gabagool.config import ConfigError, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("config", help="effective settings, secrets redacted")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the effective settings")
    show.add_argument("--config", metavar="FILE", help="TOML settings file")
    show.add_argument("--json", action="store_true", help="as JSON")
    show.set_defaults(handler=show_settings)


def show_settings(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    data = settings.redacted()
    if args.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(data)).decode() + "\n")
        return 0
    for section, values in data.items():
        print(f"[{section}]")
        for key, value in values.items():
            print(f"# {key} is unset" if value is None else f"{key} = {_toml(value)}")
        print()
    return 0


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
