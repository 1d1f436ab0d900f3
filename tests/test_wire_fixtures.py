"""Every market-channel fixture in `tests/fixtures/polymarket/` through the core, with the
books and reports each one must produce written out here."""

from __future__ import annotations

import json
from pathlib import Path

from gabagool._core import Market

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"
# Token ids as they appear in the fixtures.
NAUTILUS_YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NAUTILUS_NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
CAPTURED = "350977769852917329387037893294763093471844346281449484439085576212613048126"
BURST_UP = "76670567130917723816490572615540605537878462672464291990940067659127658071111"
BURST_DOWN = "54179564009642723353355316176091991063553046330768303687769988635499280029688"
QUOTED = "85354956062430465315924116860125388538595433819574542752031640332592237464430"
RESOLVED_YES = "76043073756653678226373981964075571318267289248134717369284518995922789326425"
RESOLVED_NO = "31690934263385727664202099278545688007799199447969475608906331829650099442770"
M = 1_000_000  # micros per unit


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def frames_of(name: str) -> list[bytes]:
    return [json.dumps(item).encode() for item in json.loads(raw(name))]


def test_hand_written_snapshot_gives_its_three_levels_a_side() -> None:
    market = Market(NAUTILUS_YES, NAUTILUS_NO)
    assert market.apply_frame(raw("ws_book_snapshot.json")).changed == 1
    bids = [(500_000, 200 * M), (490_000, 350 * M), (480_000, 500 * M)]
    asks = [(510_000, 150 * M), (520_000, 250 * M), (530_000, 400 * M)]
    assert (market.levels("up", "bid"), market.levels("up", "ask")) == (bids, asks)
    assert market.needs_resync() == 0


def test_book_message_gives_its_two_levels_a_side() -> None:
    market = Market(NAUTILUS_YES, NAUTILUS_NO)
    market.apply_frame(raw("ws_market_book_msg.json"))
    assert market.levels("up", "bid") == [(500_000, 200 * M), (490_000, 350 * M)]
    assert market.levels("up", "ask") == [(510_000, 150 * M), (520_000, 250 * M)]


def test_captured_snapshot_gives_its_whole_book() -> None:
    market = Market(CAPTURED, "other")
    summary = market.apply_frame(raw("ws_book_snapshot_captured.json"))
    assert (summary.changed, summary.problems) == (1, [])
    assert market.best_bid("up") == (70_000, 182_528_550_000)
    assert market.best_ask("up") == (80_000, 228_198_280_000)
    assert len(market.levels("up", "bid")) == 7
    assert len(market.levels("up", "ask")) == 57
    assert market.levels("up", "bid")[-1] == (10_000, 3_149_725_720_000)
    assert market.depth_within("up", "ask", 999_999) == 1_046_837_930_000
    assert market.tick("up") == 10_000


def test_hand_written_delta_crossing_the_hand_written_book_is_flagged() -> None:
    # The message bids 0.51 while the book still offers 0.51: once the batch ends, a fault.
    market = Market(NAUTILUS_YES, NAUTILUS_NO)
    market.apply_frame(raw("ws_market_book_msg.json"))
    assert market.apply_frame(raw("ws_market_price_change_msg.json")).problems == []
    assert market.end_batch().problems == ["up:crossed"]
    assert market.needs_resync() == 1


def test_quotes_frame_updates_both_tokens_and_agrees_with_their_books() -> None:
    market = Market(NAUTILUS_YES, NAUTILUS_NO)
    market.apply_snapshot("up", [(500_000, 10 * M)], [(520_000, 10 * M)])
    market.apply_snapshot("down", [(480_000, 10 * M)], [(500_000, 10 * M)])
    summary = market.apply_frame(raw("ws_quotes.json"))
    assert summary.changed == 3
    assert market.best_bid("up") == (510_000, 150 * M)
    assert market.best_ask("down") == (490_000, 100 * M)
    assert market.end_batch().problems == []


def test_quotes_frame_without_snapshots_asks_for_them() -> None:
    market = Market(NAUTILUS_YES, NAUTILUS_NO)
    summary = market.apply_frame(raw("ws_quotes.json"))
    assert summary.problems == ["up:no_snapshot", "down:no_snapshot"]
    assert summary.needs_resync == 3


def test_last_trade_fixtures_are_reported_as_trades() -> None:
    for name in ("ws_last_trade.json", "ws_market_last_trade_msg.json"):
        market = Market(NAUTILUS_YES, NAUTILUS_NO)
        summary = market.apply_frame(raw(name))
        assert summary.trades == [("up", 510_000, 25 * M, "buy")], name
        assert summary.changed == 0


def test_best_bid_ask_message_is_reported_as_a_quote() -> None:
    market = Market(QUOTED, "other")
    assert market.apply_frame(raw("ws_market_best_bid_ask_msg.json")).quotes == [
        ("up", 730_000, 770_000)
    ]
    assert market.counters()["quotes"] == 1


def test_new_market_message_is_reported_by_slug() -> None:
    market = Market(NAUTILUS_YES, NAUTILUS_NO)
    summary = market.apply_frame(raw("ws_market_new_market_msg.json"))
    assert summary.new_markets == ["nvda-above-240-on-january-30-2026"]
    assert market.counters()["new_markets"] == 1


def test_resolution_names_the_winning_token_by_id_not_label() -> None:
    assert Market(RESOLVED_YES, RESOLVED_NO).apply_frame(
        raw("ws_market_resolved_msg.json")).resolved == "up"
    assert Market(RESOLVED_NO, RESOLVED_YES).apply_frame(
        raw("ws_market_resolved_msg.json")).resolved == "down"
    foreign = Market(NAUTILUS_YES, NAUTILUS_NO)
    assert foreign.apply_frame(raw("ws_market_resolved_msg.json")).resolved is None
    assert foreign.counters()["foreign_events"] == 1


def test_tick_size_fixtures_drop_the_book_until_a_snapshot() -> None:
    for name in ("ws_market_tick_size_msg.json", "ws_tick_size_change.json"):
        market = Market(NAUTILUS_YES, NAUTILUS_NO, tick=100_000)
        market.apply_frame(raw("ws_market_book_msg.json"))
        summary = market.apply_frame(raw(name))
        assert (summary.changed, summary.needs_resync, summary.problems) == (1, 1, []), name
        assert market.levels("up", "bid") == []
        assert market.tick("up") == 10_000
        assert not market.has_snapshot("up")
        assert market.counters()["up_tick_changes"] == 1


def test_crossing_burst_replays_with_zero_resyncs_to_the_closing_snapshot() -> None:
    frames = frames_of("ws_market_price_change_crossing_burst.json")
    assert len(frames) == 51
    market = Market(BURST_UP, BURST_DOWN, tick=1_000)
    market.apply_frame(frames[0])
    # Down is Up seen from the other side: a bid for Up at p is an ask for Down at 1 - p.
    mirrored = {side: [(M - p, s) for p, s in market.levels("up", side)] for side in ("bid", "ask")}
    market.apply_snapshot("down", mirrored["ask"], mirrored["bid"])
    crossed = []
    for index, frame in enumerate(frames[1:50], start=1):
        assert market.apply_frame(frame).problems == []
        if market.is_crossed("up"):
            crossed.append(index)
    assert crossed == [47, 48]
    closing = Market(BURST_UP, BURST_DOWN, tick=1_000)
    closing.apply_frame(frames[50])
    for side in ("bid", "ask"):
        assert market.levels("up", side) == closing.levels("up", side)
    assert market.best_bid("up") == (290_000, 2_005 * M)
    assert market.best_ask("up") == (301_000, 45_830_000)
    assert len(market.levels("up", "bid")) == len(market.levels("up", "ask")) == 23
    market.apply_frame(frames[50])
    assert market.end_batch().problems == []
    assert market.best_bid("down") == (699_000, 45_830_000)
    counters = market.counters()
    assert (counters["up_resyncs"], counters["down_resyncs"], counters["duplicates"]) == (0, 0, 0)
    assert counters["up_problems"] == counters["down_problems"] == 0


def test_rest_book_body_replaces_the_book_with_best_levels_last() -> None:
    market = Market("12345678901234567890", "other")
    market.begin_resync("up")
    summary = market.apply_rest_book("up", raw("clob_book_response.json"))
    assert (summary.needs_resync, summary.problems) == (0, [])
    assert market.best_bid("up") == (500_000, 150 * M)
    assert market.best_ask("up") == (510_000, 120 * M)
    assert len(market.levels("up", "bid")) == len(market.levels("up", "ask")) == 3
