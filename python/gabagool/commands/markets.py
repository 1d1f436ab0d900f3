"""`gabagool markets [--assets ..] [--json]`: the current and next windows, from Gamma and
the CLOB, as the live venue would trade them."""

from __future__ import annotations

import argparse
import datetime
import logging
import sys
from typing import TYPE_CHECKING

from gabagool.cli import UsageError
from gabagool.config import ConfigError, PolymarketSettings, Settings, load_settings

if TYPE_CHECKING:  # imported when the command runs: every other command starts faster
    from gabagool.venues.polymarket.discovery import DiscoveredWindow

COLUMNS = ("window", "starts (UTC)", "tick", "min size", "fee", "to beat", "accepting", "version")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "markets",
        help="the current and next 15-minute windows, from Gamma",
        description="Discover the current and next 15-minute Up or Down window of each asset "
        "(Gamma events and the CLOB's market facts) and print them.",
    )
    parser.add_argument("--config", metavar="FILE", help="settings file (TOML)")
    parser.add_argument("--assets", help="comma-separated, e.g. btc,eth (default: settings)")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead")
    parser.set_defaults(handler=run)


def settings_and_assets(args: argparse.Namespace) -> tuple[Settings, list[str]]:
    """The settings from `--config` and the assets from `--assets` (default: the settings')."""
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return settings, parse_assets(args.assets, settings.engine.assets)


def parse_assets(text: str | None, default: list[str]) -> list[str]:
    if text is None:
        return default
    assets = [a.strip() for a in text.split(",") if a.strip()]
    if not assets or not all(a.isalnum() and a.islower() for a in assets):
        raise UsageError(f"--assets {text!r} is not a comma-separated list of lower-case names")
    return assets


async def discover(settings: PolymarketSettings, assets: list[str]) -> list[DiscoveredWindow]:
    import httpx
    import trio

    from gabagool.venues.polymarket.clob_public import ClobPublic
    from gabagool.venues.polymarket.clock import UnixClock
    from gabagool.venues.polymarket.discovery import Discovery
    from gabagool.venues.polymarket.gamma import GammaClient
    from gabagool.venues.polymarket.rest import RestClient

    with trio.fail_after(float(settings.discovery_timeout)):
        timeout = httpx.Timeout(float(settings.http_timeout))
        async with httpx.AsyncClient(timeout=timeout) as client:
            rest = RestClient(client)
            discovery = Discovery(
                GammaClient(rest, settings.gamma_url), ClobPublic(rest, settings.clob_url)
            )
            return await discovery.windows(assets, UnixClock.from_wall().now_s())


def _when(unix_s: int) -> str:
    return datetime.datetime.fromtimestamp(unix_s, tz=datetime.UTC).strftime("%Y-%m-%d %H:%M")


def render(windows: list[DiscoveredWindow]) -> str:
    rows = [COLUMNS]
    for w in windows:
        fee = "0" if w.fee_rate == "0" else f"{w.fee_rate} (exp {w.fee_exponent})"
        rows.append((w.slug, _when(w.start), w.tick_size, w.min_order_size, fee,
                     w.price_to_beat or "-", "yes" if w.accepting_orders else "no",
                     w.version or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(n) for c, n in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def run(args: argparse.Namespace) -> int:
    import msgspec
    import trio

    from gabagool.venues.polymarket.rest import Unavailable

    settings, assets = settings_and_assets(args)
    logging.getLogger("gabagool.polymarket").setLevel(logging.ERROR)  # skips are listed below
    try:
        windows = trio.run(discover, settings.polymarket, assets)
    except Unavailable as exc:
        print(f"gabagool markets: cannot reach the exchange: {exc}", file=sys.stderr)
        return 1
    except trio.TooSlowError:
        print(f"gabagool markets: no answer within {settings.polymarket.discovery_timeout} s "
              f"from {settings.polymarket.gamma_url}", file=sys.stderr)
        return 1
    if args.json:
        print(msgspec.json.encode([msgspec.to_builtins(w) for w in windows]).decode())
    else:
        print(render(windows) if windows else "no window found")
    return 0 if windows else 1
