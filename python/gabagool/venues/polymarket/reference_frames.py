"""Reference-price frames (PolyBolt, legacy RTDS) read into `ReferenceTick`s, without I/O.

The socket clients (`reference.py`) only pump text through these readers, so the parsing,
the sequence checks and the counting are tested without a network, and replay can read
recorded frames with the same code. Prices become atto-dollars exactly: PolyBolt's
`full_accuracy_value` is a plain decimal, RTDS's is an integer in 1e18 fixed point (already
atto-dollars); a bare JSON number is read from its text, never through a float.

Anything unreadable is counted (`malformed`, `unknown`) and dropped with one log line; a
reader never raises on input.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from gabagool.core import ParseError, parse_reference_price
from gabagool.venues.base import ReferenceFrame

log = logging.getLogger(__name__)

Source = Literal["polybolt", "rtds", "sim"]
Kind = Literal["spot", "twap"]

SPOT_CHANNEL = "price.crypto"
TWAP_CHANNEL = "price.crypto.twap"
RTDS_TOPIC = "crypto_prices_chainlink"
_CHANNEL_KINDS: dict[str, Kind] = {SPOT_CHANNEL: "spot", TWAP_CHANNEL: "twap"}
_SHOWN = 80  # characters of a bad frame worth a log line


@dataclass(frozen=True, slots=True)
class ReferenceTick:
    """One reference price: `price` in atto-dollars, `ts_ms` the feed's own timestamp."""

    asset: str
    source: Source
    kind: Kind
    price: int
    ts_ms: int


class TickFrame(ReferenceFrame):
    """Reference prices a live socket client already read (its own `seq` checks done), in a
    window's frame stream: a window reads the ticks instead of parsing `text` again. The
    live run also hands a window Gamma's `price_to_beat` (atto-dollars) this way when
    discovery learns it after the window's feed started. `text` says what it carries, for
    logs and equality."""

    __slots__ = ("price_to_beat", "ticks")

    def __init__(self, ticks: tuple[ReferenceTick, ...] = (),
                 price_to_beat: int | None = None) -> None:
        super().__init__(json.dumps({
            "ticks": [[t.asset, t.source, t.kind, t.price, t.ts_ms] for t in ticks],
            "price_to_beat": price_to_beat}, separators=(",", ":")))
        self.ticks = ticks
        self.price_to_beat = price_to_beat


@dataclass(slots=True)
class FeedCounters:
    """What a feed saw besides prices; the client's log lines say the same once each."""

    ticks: int = 0
    gaps: int = 0  # sequence numbers skipped (updates missed)
    dropped: int = 0  # updates the server says it dropped for us
    duplicates: int = 0  # a sequence number already seen
    malformed: int = 0
    unknown: int = 0  # well-formed, but not for us (another channel, symbol, topic)
    subscribe_errors: int = 0
    auth_failures: int = 0
    reconnects: int = 0
    stale: int = 0  # silences longer than `reference.stale_after`
    drains: int = 0  # PolyBolt close 4003


def worth_logging(count: int) -> bool:
    """Log the 1st, 2nd, 4th, 8th... occurrence: a flood of bad frames stays a few lines."""
    return count & (count - 1) == 0


def polybolt_symbol(asset: str) -> str:
    return f"{asset}usd"


def rtds_symbol(asset: str) -> str:
    return f"{asset}/usd"


_FAST = msgspec.json.Decoder(float_hook=str)


def decode(text: str | bytes) -> Any:
    """JSON with every non-integer number kept as its text, so prices never pass a float.

    msgspec reads a well-formed frame several times faster than `json` and to the same
    values; whatever it refuses (NaN, a BOM, a lone surrogate...) goes to `json`, so what
    is read, and what is malformed, is what `json.loads` says."""
    try:
        return _FAST.decode(text)
    except ValueError:  # msgspec.DecodeError and UnicodeDecodeError both are
        return json.loads(text, parse_float=str)


def price_of(point: Mapping[str, Any], fixed18: bool) -> int:
    """Atto-dollars from `full_accuracy_value` (preferred) or `value`; ParseError otherwise."""
    exact = point.get("full_accuracy_value")
    if isinstance(exact, str):
        if not fixed18:
            return parse_reference_price(exact)
        if not (exact.isascii() and exact.isdigit()) or int(exact) <= 0:
            raise ParseError(f"full_accuracy_value {exact[:40]!r} is not a positive integer")
        return int(exact)
    value = point.get("value")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ParseError(f"price value {str(value)[:40]!r} is not a number")
    return parse_reference_price(str(value))


def timestamp_of(point: Mapping[str, Any]) -> int:
    ts = point.get("timestamp")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        raise ParseError(f"timestamp {str(ts)[:40]!r} is not a ms integer")
    return ts


class PolyBoltReader:
    """PolyBolt text frames -> ticks, with the `seq` checks of one connection.

    `seq` is consecutive per connection and channel: a jump counts the numbers skipped as
    `gaps`, an old number is a duplicate and is dropped, and `dropped: n` in an envelope adds
    n to `dropped`. Control messages (`op`) are handed back to the client as dicts.
    """

    def __init__(self, assets: list[str], counters: FeedCounters) -> None:
        self._assets = {polybolt_symbol(asset): asset for asset in assets}
        self.counters = counters
        self._last_seq: dict[str, int] = {}
        # said at the 1st, 2nd, 4th... occurrence: a feed with gaps all day stays a few lines
        self._drop_notices = 0
        self._gap_notices = 0

    def new_connection(self) -> None:
        self._last_seq.clear()

    def read(self, text: str | bytes) -> tuple[list[ReferenceTick], dict[str, Any] | None]:
        """(ticks, control message or None) of one frame."""
        try:
            frame = decode(text)
        except ValueError:
            return self._malformed(text, "not JSON"), None
        if not isinstance(frame, dict):
            return self._malformed(text, "not a JSON object"), None
        if "op" in frame:
            return [], frame
        channel = frame.get("channel")
        kind = _CHANNEL_KINDS.get(channel) if isinstance(channel, str) else None
        if kind is None or not isinstance(channel, str):
            self.counters.unknown += 1
            return [], None
        seq, payload = frame.get("seq"), frame.get("payload")
        if isinstance(seq, bool) or not isinstance(seq, int) or not isinstance(payload, dict):
            return self._malformed(text, "envelope without seq or payload"), None
        if frame.get("snapshot"):
            # a subscription starts with a snapshot: in a recording, a reconnect's `seq`
            # starts again here, so what came before says nothing about duplicates
            self._last_seq.pop(channel, None)
        if not self._in_sequence(channel, seq, frame.get("dropped")):
            return [], None
        asset = self._assets.get(str(payload.get("symbol")))
        if asset is None:
            self.counters.unknown += 1
            return [], None
        points = payload.get("data") if frame.get("snapshot") else [payload]
        if not isinstance(points, list):
            return self._malformed(text, "snapshot without a data list"), None
        try:
            ticks = [
                ReferenceTick(asset, "polybolt", kind, price_of(p, False), timestamp_of(p))
                for p in points
            ]
        except (ParseError, AttributeError) as exc:
            why = str(exc) if isinstance(exc, ParseError) else "a point is not an object"
            return self._malformed(text, why), None
        self.counters.ticks += len(ticks)
        return ticks, None

    def _in_sequence(self, channel: str, seq: int, dropped: object) -> bool:
        if isinstance(dropped, int) and not isinstance(dropped, bool) and dropped > 0:
            self.counters.dropped += dropped
            self._drop_notices += 1
            if worth_logging(self._drop_notices):
                log.warning("reference feed: PolyBolt dropped %d %s updates (notice #%d)",
                            dropped, channel, self._drop_notices)
        last = self._last_seq.get(channel)
        if last is not None and seq <= last:
            self.counters.duplicates += 1
            return False
        if last is not None and seq > last + 1:
            self.counters.gaps += seq - last - 1
            self._gap_notices += 1
            if worth_logging(self._gap_notices):
                log.warning("reference feed: PolyBolt %s seq jumped %d -> %d (%d missed, gap #%d)",
                            channel, last, seq, seq - last - 1, self._gap_notices)
        self._last_seq[channel] = seq
        return True

    def _malformed(self, text: str | bytes, why: str) -> list[ReferenceTick]:
        self.counters.malformed += 1
        if worth_logging(self.counters.malformed):
            log.warning("reference feed: malformed PolyBolt frame #%d (%s): %.*s",
                        self.counters.malformed, why, _SHOWN, text)
        return []


class RtdsReader:
    """Legacy RTDS `crypto_prices_chainlink` frames -> spot ticks.

    The history message sent on subscribing names no symbol: it is used only when the
    connection carries a single asset, and counted as unknown otherwise.
    """

    def __init__(self, assets: list[str], counters: FeedCounters) -> None:
        self._assets = {rtds_symbol(asset): asset for asset in assets}
        self._only = assets[0] if len(assets) == 1 else None
        self.counters = counters

    def read(self, text: str | bytes) -> list[ReferenceTick]:
        if text in ("PONG", b"PONG", "", b""):
            return []
        try:
            frame = decode(text)
        except ValueError:
            return self._malformed(text, "not JSON")
        if not isinstance(frame, dict) or not isinstance(frame.get("payload"), dict):
            return self._malformed(text, "no payload object")
        payload = frame["payload"]
        topic = frame.get("topic")
        try:
            if topic is None and isinstance(payload.get("data"), list):
                if self._only is None:
                    self.counters.unknown += 1
                    return []
                ticks = [
                    ReferenceTick(self._only, "rtds", "spot", price_of(p, True), timestamp_of(p))
                    for p in payload["data"]
                ]
            elif topic == RTDS_TOPIC and frame.get("type") == "update":
                asset = self._assets.get(str(payload.get("symbol")))
                if asset is None:
                    self.counters.unknown += 1
                    return []
                ticks = [
                    ReferenceTick(asset, "rtds", "spot", price_of(payload, True),
                                  timestamp_of(payload))
                ]
            else:
                self.counters.unknown += 1
                return []
        except (ParseError, AttributeError) as exc:
            why = str(exc) if isinstance(exc, ParseError) else "a point is not an object"
            return self._malformed(text, why)
        self.counters.ticks += len(ticks)
        return ticks

    def _malformed(self, text: str | bytes, why: str) -> list[ReferenceTick]:
        self.counters.malformed += 1
        if worth_logging(self.counters.malformed):
            log.warning("reference feed: malformed RTDS frame #%d (%s): %.*s",
                        self.counters.malformed, why, _SHOWN, text)
        return []
