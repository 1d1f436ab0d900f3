"""Replay a recording through the core's books: each token's final top of book and counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gabagool._core import Replay, parse_price
from gabagool.recording import PathLike, read_recording

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
class ReplayReport:
    """The whole replay: frame totals and one `TokenReport` per token of every window."""

    path: str
    frames: int
    frame_errors: int
    unrouted: int
    tokens: list[TokenReport]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def replay_recording(path: PathLike) -> ReplayReport:
    """Feed every frame of `path` through the core, routed to the window whose tokens it names.

    Raises `RecordingError` for an unreadable file and `ParseError` / `BookError` for a header
    whose tick size is not a valid tick.
    """
    header, frames = read_recording(path)
    windows = header.markets
    replay = Replay([(m.up_token, m.down_token, parse_price(m.tick_size)) for m in windows])
    batch: list[str] = []
    for recorded in frames:
        batch.append(recorded.frame)
        if len(batch) == BATCH_FRAMES:
            replay.apply_many(batch)
            batch.clear()
    replay.apply_many(batch)
    replay.finish()
    rows = replay.report()
    tokens = [
        TokenReport(
            slug=windows[index // 2].slug,
            outcome=row["outcome"],
            token=row["token"],
            best_bid_micros=row["best_bid"],
            best_ask_micros=row["best_ask"],
            bid_levels=row["bid_levels"],
            ask_levels=row["ask_levels"],
            frames=row["frames"],
            trades=row["trades"],
            resyncs=row["resyncs"],
            errors=row["errors"],
            needs_resync=row["needs_resync"],
        )
        for index, row in enumerate(rows)
    ]
    return ReplayReport(
        path=str(path),
        frames=replay.frames,
        frame_errors=replay.frame_errors,
        unrouted=replay.unrouted,
        tokens=tokens,
    )
