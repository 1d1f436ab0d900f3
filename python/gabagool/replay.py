"""Replay a recording through the core's books: each token's final top of book and counts,
the reference-price frames it carries, and what reading it found wrong."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec

from gabagool._core import Replay, parse_price
from gabagool.recording import MARKET_SOURCE, REFERENCE_SOURCE, PathLike, read_sources

# Frames handed to the core per call: large enough that the Python loop is not the cost.
BATCH_FRAMES = 4096


@dataclass(frozen=True)
class TokenReport:
    """One token after the replay. Prices in micro-dollars (None: that side is empty)."""

    slug: str
    outcome: str
    token: str
    best_bid_micros: int | None
    best_ask_micros: int | None
    bid_levels: int
    ask_levels: int
    frames: int
    trades: int
    resyncs: int
    errors: int
    needs_resync: bool


@dataclass(frozen=True)
class ReferenceReport:
    """The reference-price frames of a recording, by PolyBolt channel or legacy RTDS topic
    (`other`: frames that name neither, such as acks and RTDS's subscription history)."""

    frames: int = 0
    channels: dict[str, int] = field(default_factory=dict)
    other: int = 0


class _Envelope(msgspec.Struct):
    channel: str | None = None  # PolyBolt
    topic: str | None = None  # legacy RTDS


_envelope = msgspec.json.Decoder(_Envelope)


@dataclass(frozen=True)
class ReplayReport:
    """The whole replay: frame totals, one `TokenReport` per token of every window, the
    reference frames, and the reader's issue counts (frames dropped, off-tick prices,
    crossed books: `RecordingIssues`) with the first problems quoted."""

    path: str
    frames: int
    frame_errors: int
    unrouted: int
    tokens: list[TokenReport]
    reference: ReferenceReport
    issues: dict[str, int]
    issue_messages: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def replay_recording(path: PathLike) -> ReplayReport:
    """Feed every frame of `path` through the core, routed to the window whose tokens it names.

    Raises `RecordingError` for an unreadable file and `ParseError` / `BookError` for a header
    whose tick size is not a valid tick.
    """
    header, frames = read_sources(path)
    windows = header.markets
    replay = Replay([(m.up_token, m.down_token, parse_price(m.tick_size)) for m in windows])
    batch: list[str] = []
    channels: dict[str, int] = {}
    other = 0
    for recorded in frames:
        if recorded.source == MARKET_SOURCE:
            batch.append(recorded.frame)
            if len(batch) == BATCH_FRAMES:
                replay.apply_many(batch)
                batch.clear()
        elif recorded.source == REFERENCE_SOURCE:
            channel = _channel(recorded.frame)
            if channel is None:
                other += 1
            else:
                channels[channel] = channels.get(channel, 0) + 1
    replay.apply_many(batch)
    replay.finish()
    frames.finish()
    rows = replay.report()
    tokens = [_token_report(windows[index // 2].slug, row) for index, row in enumerate(rows)]
    return ReplayReport(
        path=str(path),
        frames=replay.frames,
        frame_errors=replay.frame_errors,
        unrouted=replay.unrouted,
        tokens=tokens,
        reference=ReferenceReport(
            frames=sum(channels.values()) + other, channels=dict(sorted(channels.items())),
            other=other,
        ),
        issues=frames.issues.counts(),
        issue_messages=list(frames.issues.messages),
    )


def _channel(frame: str) -> str | None:
    try:
        envelope = _envelope.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    return envelope.channel or envelope.topic


def _token_report(slug: str, row: dict[str, int | str | bool | None]) -> TokenReport:
    """One row of `Replay.report()`, its values checked against the types they promise."""

    def number(key: str) -> int:
        value = row[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"replay report field {key!r} is {value!r}, not an int")
        return value

    def price(key: str) -> int | None:
        return None if row[key] is None else number(key)

    return TokenReport(
        slug=slug,
        outcome=str(row["outcome"]),
        token=str(row["token"]),
        best_bid_micros=price("best_bid"),
        best_ask_micros=price("best_ask"),
        bid_levels=number("bid_levels"),
        ask_levels=number("ask_levels"),
        frames=number("frames"),
        trades=number("trades"),
        resyncs=number("resyncs"),
        errors=number("errors"),
        needs_resync=bool(row["needs_resync"]),
    )
