"""`gabagool state show | export | clear`: what the durable journal holds, and wiping it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from gabagool.cli import UsageError
from gabagool.store import (
    Journal,
    JournalNotFound,
    StoreError,
    describe_location,
    open_journal,
)
from gabagool.store.base import LEDGER_UNITS, JournalExport
from gabagool.store.lock import exclusive_journal, journal_holders
from gabagool.store.sqlite import JOURNAL_FILENAME
from gabagool.types import PICOS_PER_MICRO
from gabagool.types import exact_dollars as dollars
from gabagool.types import short as shares

ATTOS_PER_CENT = 10**16


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--data-dir",
        type=Path,
        help=f"directory of the SQLite journal ({JOURNAL_FILENAME}); default: the engine's",
    )
    where.add_argument(
        "--store",
        metavar="URL",
        help="journal location instead: redis://[:password@]host:port/db, rediss://... (TLS), "
        "sqlite:///path or a file path (default: $GABAGOOL_STORE, else the data dir's file)",
    )
    parser = subparsers.add_parser(
        "state",
        help="the durable journal: windows, positions, fills, halt flag, totals",
        description="Show, export or clear the journal of orders, fills, positions, window "
        "outcomes and the halt flag.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    show = actions.add_parser(
        "show", parents=[where], help="summary: halt flag, totals, windows with positions"
    )
    show.add_argument("--json", action="store_true", help="print the summary as JSON")
    show.set_defaults(handler=run_show)

    export = actions.add_parser(
        "export", parents=[where], help="everything the journal holds, as one JSON document"
    )
    export.add_argument("--json", action="store_true", help="JSON (the only format; accepted)")
    export.add_argument("--out", type=Path, help="write to this file instead of stdout")
    export.set_defaults(handler=run_export)

    clear = actions.add_parser(
        "clear", parents=[where], help="delete everything in the journal (asks first)"
    )
    clear.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    clear.add_argument(
        "--force",
        action="store_true",
        help="clear even while an engine holds the journal (its results are then lost)",
    )
    clear.add_argument("--json", action="store_true", help="report the result as JSON")
    clear.set_defaults(handler=run_clear)


T = TypeVar("T")


def _open(args: argparse.Namespace) -> Journal:
    return open_journal(args.store, data_dir=args.data_dir, create=False)


def _fail(message: str) -> int:
    print(f"gabagool state: {message}", file=sys.stderr)
    return 1


class _Unreadable(Exception):
    """The journal is missing or failed while being read: the message for `_fail`."""


def _read(args: argparse.Namespace, read: Callable[[Journal], T]) -> T:
    """Open the journal, take what `read` wants from it and close it."""
    try:
        journal = _open(args)
    except JournalNotFound as exc:
        raise _Unreadable(f"{exc} (nothing has been journaled there yet)") from exc
    except StoreError as exc:
        raise _Unreadable(str(exc)) from exc
    try:
        return read(journal)
    except StoreError as exc:
        raise _Unreadable(str(exc)) from exc
    finally:
        journal.close()


def reference_dollars(atto: int) -> str:
    """A reference price (atto-dollars) to the cent, half up: `$97,012.35`. Display only:
    `--json` and `export` keep the exact integer."""
    cents = (abs(atto) + ATTOS_PER_CENT // 2) // ATTOS_PER_CENT
    whole, frac = divmod(cents, 100)
    return f"{'-' if atto < 0 and cents else ''}${whole:,}.{frac:02d}"


def window_open(window: dict[str, Any]) -> str:
    """`$97,012.35 (priceToBeat)`, or `-` before the open is known."""
    if window.get("open_atto") is None:
        return "-"
    return f"{reference_dollars(window['open_atto'])} ({window.get('open_source') or '?'})"


def resolution(window: dict[str, Any]) -> str:
    """Our winner (settlement TWAP vs open) beside the exchange's: `agree (up)`,
    `DISAGREE: ours down, exchange up`, `unchecked: ours -, exchange up`, `-` before."""
    check = window.get("resolution")
    if check is None:
        return "-"
    ours, exchange = check["ours"], check["exchange"]
    if ours is None or exchange is None:
        return f"unchecked: ours {ours or '-'}, exchange {exchange or '-'}"
    if ours == exchange:
        return f"agree ({ours})"
    return f"DISAGREE: ours {ours}, exchange {exchange}"


def describe_resting(order: dict[str, Any]) -> str:
    """`o-1 (0xab12) buy up 10 @ 0.44 open`: what may still rest, by our id and the
    exchange's (`no venue id yet` before it acknowledged the order)."""
    venue = order.get("venue_id") or "no venue id yet"
    return (
        f"{order['order_id']} ({venue}) {order['side']} {order['outcome']} "
        f"{shares(order['size_micros'])} @ {shares(order['price_micros'])} {order['status']}"
    )


def ledger_amount(ledger: str, amount: int) -> str:
    """A ledger's reservation in its own unit: dollars, or shares for the unhedged cap."""
    if LEDGER_UNITS.get(ledger) == "micro-shares":
        return f"{shares(amount)} shares"
    return dollars(amount)


def summary(journal: Journal, location: str) -> dict[str, Any]:
    """What `state show --json` prints; integer amounts with their units in the names."""
    positions = {p.window_id: p for p in journal.positions()}
    totals = journal.totals()
    windows = []
    for window in journal.windows():
        position = positions.get(window.window_id)
        windows.append(
            {
                **msgspec.to_builtins(window),
                "position": None if position is None else msgspec.to_builtins(position),
            }
        )
    return {
        "location": location,
        "backend": journal.backend,
        "schema_version": journal.schema_version(),
        "halt": msgspec.to_builtins(journal.get_halt()),
        "totals": msgspec.to_builtins(totals),
        # `totals.reserved_pico` holds each ledger in its own unit (the unhedged cap counts
        # micro-shares): the unit of each, by name
        "ledger_units": {ledger: LEDGER_UNITS.get(ledger, "pico-dollars") for ledger in
                         totals.reserved_pico},
        "windows": windows,
        "resting_orders": msgspec.to_builtins(journal.resting_orders()),
        # kept in the journal, counted in no position
        "reversed_fills": sum(1 for fill in journal.all_fills() if not fill.stands),
    }


def _print_summary(data: dict[str, Any]) -> None:
    halt, totals = data["halt"], data["totals"]
    print(f"journal   {data['location']} ({data['backend']}, schema {data['schema_version']})")
    if halt["halted"]:
        print(f"halt      HALTED by {halt['set_by'] or '?'}: {halt['reason'] or 'no reason'}")
    else:
        print("halt      off")
    reversed_fills = data.get("reversed_fills", 0)
    print(
        f"windows   {totals['windows_open']} open, {totals['windows_settled']} settled; "
        f"fills {totals['fill_count']}"
        + (f" (and {reversed_fills} reversed)" if reversed_fills else "")
        + f"; fees {dollars(totals['fees_micros'] * PICOS_PER_MICRO)}"
    )
    print(
        f"money     open cost {dollars(totals['open_net_cost_pico'])}; "
        f"realised PnL {dollars(totals['realized_pnl_pico'])}"
    )
    for ledger, amount in sorted(totals["reserved_pico"].items()):
        print(f"reserved  {ledger}: {ledger_amount(ledger, amount)}")
    if data["windows"]:
        header = ("window", "status", "winner", "up qty", "up cost", "down qty", "down cost",
                  "fills", "pnl", "open", "resolution check")
        rows = [header]
        for w in data["windows"]:
            p = w["position"] or {}
            rows.append(
                (
                    w["window_id"],
                    w["status"],
                    w["winner"] or "-",
                    shares(p.get("qty_up_micros", 0)),
                    dollars(p.get("cost_up_pico", 0)),
                    shares(p.get("qty_down_micros", 0)),
                    dollars(p.get("cost_down_pico", 0)),
                    str(p.get("fill_count", 0)),
                    "-" if w["pnl_pico"] is None else dollars(w["pnl_pico"]),
                    window_open(w),
                    resolution(w),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            print("  ".join(cells).rstrip())
    for engine in data.get("engines", []):
        print(f"engine    {engine['engine_id']}: pid {engine['pid']} on {engine['host']} since "
              f"{engine['since']}")
    resting = data["resting_orders"]
    print(f"resting   {len(resting)} order(s) that may still rest on the exchange")
    for order in resting:
        print(f"  {describe_resting(order)}")


def run_show(args: argparse.Namespace) -> int:
    location = describe_location(args.store, args.data_dir)
    try:
        data = _read(args, lambda journal: summary(journal, location))
        # the engines running on it now (their locks / leases)
        data["engines"] = msgspec.to_builtins(
            [
                msgspec.structs.replace(holder, token="")
                for holder in journal_holders(args.store, data_dir=args.data_dir)
            ]
        )
    except (_Unreadable, StoreError) as exc:
        return _fail(str(exc))
    if args.json:
        print(msgspec.json.encode(data).decode())
    else:
        _print_summary(data)
    return 0


def run_export(args: argparse.Namespace) -> int:
    try:
        dump: JournalExport = _read(args, lambda journal: journal.export())
    except _Unreadable as exc:
        return _fail(str(exc))
    text = msgspec.json.format(msgspec.json.encode(dump), indent=2).decode() + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            args.out.write_text(text)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror}") from exc
    return 0


def run_clear(args: argparse.Namespace) -> int:
    location = describe_location(args.store, args.data_dir)
    try:
        journal = _open(args)
    except JournalNotFound:
        if args.json:
            print(msgspec.json.encode({"location": location, "cleared": False}).decode())
        else:
            print(f"no journal at {location}: nothing to clear")
        return 0
    except StoreError as exc:
        return _fail(str(exc))
    try:
        # held until the journal is cleared: no engine starts on it meanwhile (SQLite)
        with exclusive_journal(args.store, data_dir=args.data_dir, force=args.force) as holders:
            for holder in holders:
                print(f"warning: clearing under a running {holder.describe()}", file=sys.stderr)
            if not args.yes and not _confirmed(journal, location):
                print("not cleared")
                return 1
            journal.clear()
    except StoreError as exc:
        return _fail(str(exc))
    finally:
        journal.close()
    if args.json:
        print(msgspec.json.encode({"location": location, "cleared": True}).decode())
    else:
        print(f"cleared {location}")
    return 0


def _confirmed(journal: Journal, location: str) -> bool:
    totals = journal.totals()
    if not sys.stdin.isatty():
        raise UsageError(f"refusing to clear {location} without confirmation: pass --yes")
    answer = input(
        f"Delete everything in {location} ({totals.windows_open + totals.windows_settled}"
        f" windows, {totals.fill_count} fills, the halt flag)? [y/N] "
    )
    return answer.strip().lower() in ("y", "yes")
