"""`gabagool record --assets btc,eth --out DIR`: the live market channel and the reference
price feed (per `reference.source`, as `run --feed live` picks it) into recordings, one file
per window (see `gabagool.recorder`); runs until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from gabagool.cli import UsageError
from gabagool.commands.markets import settings_and_assets


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record live market frames, one file per window",
        description="Subscribe to the market channel for the current and next windows of each "
        "asset, and to the reference price feed (reference.source: PolyBolt with the CLOB API "
        "credentials, else RTDS; off for none), and write every frame, as received, into one "
        "recording per window (zstd JSON lines, readable by `gabagool replay` and "
        "`gabagool backtest`), until interrupted.",
    )
    parser.add_argument("--config", metavar="FILE", help="settings file (TOML)")
    parser.add_argument("--assets", help="comma-separated, e.g. btc,eth (default: settings)")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory for recordings")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # imported here: every other command starts without httpx and the socket stack
    import trio

    from gabagool.recorder import Recorder
    from gabagool.venues.polymarket.reference import reference_feed
    from gabagool.venues.polymarket.rest import Unavailable

    settings, assets = settings_and_assets(args)
    out = Path(args.out)
    if not out.is_dir():
        raise UsageError(f"--out {str(out)!r} is not a directory")
    try:
        reference = reference_feed(settings, assets)
    except ValueError as exc:  # polybolt asked for without the credentials
        raise UsageError(str(exc)) from None
    logger = logging.getLogger("gabagool")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    recorder = Recorder(settings.polymarket, assets, out,
                        resolution_wait=float(settings.engine.resolution_wait),
                        reference=reference)
    try:
        trio.run(recorder.run)
    except Unavailable as exc:
        print(f"gabagool record: cannot reach the exchange: {exc}", file=sys.stderr)
        return 1
    except trio.TooSlowError:
        print(f"gabagool record: no answer within {settings.polymarket.discovery_timeout} s "
              f"from {settings.polymarket.gamma_url}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        logger.removeHandler(handler)
    return 0
