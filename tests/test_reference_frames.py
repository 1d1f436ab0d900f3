"""PolyBolt and RTDS frames read into ticks, from the fixtures in the exchange's own format."""

from __future__ import annotations

import json
from pathlib import Path

from gabagool.core import parse_reference_price
from gabagool.venues.polymarket.reference_frames import (
    FeedCounters,
    PolyBoltReader,
    ReferenceTick,
    RtdsReader,
)

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"


def fixture(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


def polybolt_server_frames() -> list[str]:
    frames = fixture("polybolt_price_frames.json")
    assert isinstance(frames, dict)
    return [json.dumps(frame) for frame in frames["server"]]


def test_polybolt_fixture_gives_exact_ticks_and_counts_the_gap_and_the_drop() -> None:
    counters = FeedCounters()
    reader = PolyBoltReader(["btc"], counters)
    ticks: list[ReferenceTick] = []
    controls = []
    for text in polybolt_server_frames():
        got, control = reader.read(text)
        ticks.extend(got)
        if control is not None:
            controls.append(control["op"])
    assert controls == ["authed", "subscribed", "subscribed", "error", "pong"]
    usd = parse_reference_price
    assert ticks == [
        ReferenceTick("btc", "polybolt", "spot", usd("64123.5"), 1788972880000),
        ReferenceTick("btc", "polybolt", "spot", usd("64124.1"), 1788972881000),
        ReferenceTick("btc", "polybolt", "spot", usd("64125.02"), 1788973001000),
        ReferenceTick("btc", "polybolt", "spot", usd("64120"), 1788973004000),
        ReferenceTick("btc", "polybolt", "twap", usd("64119.873421"), 1788973020000),
    ]
    # seq 2 -> 5 on price.crypto: 3 and 4 missed; the server also says it dropped 2
    assert (counters.gaps, counters.dropped, counters.malformed) == (2, 2, 0)
    assert counters.ticks == 5


def test_polybolt_duplicates_and_a_new_connection_restart_the_sequence() -> None:
    counters = FeedCounters()
    reader = PolyBoltReader(["btc"], counters)
    frame = {"v": 1, "channel": "price.crypto", "seq": 7, "ts": 1,
             "payload": {"symbol": "btcusd", "timestamp": 1, "value": 1.5}}
    assert len(reader.read(json.dumps(frame))[0]) == 1
    assert reader.read(json.dumps(frame))[0] == []
    assert counters.duplicates == 1
    reader.new_connection()
    frame["seq"] = 1
    assert len(reader.read(json.dumps(frame))[0]) == 1
    assert counters.gaps == 0


def test_polybolt_bare_value_is_read_from_its_text_not_a_float() -> None:
    reader = PolyBoltReader(["eth"], FeedCounters())
    text = ('{"v":1,"channel":"price.crypto","seq":1,"ts":5,"payload":{"symbol":"ethusd",'
            '"timestamp":5,"value":3021.123456789012345}}')
    (tick,), _ = reader.read(text)
    assert tick.price == 3_021_123_456_789_012_345_000


def test_polybolt_bad_frames_are_counted_never_raised(caplog) -> None:
    counters = FeedCounters()
    reader = PolyBoltReader(["btc"], counters)
    bad = [
        "not json", "[1, 2]", '{"channel": "price.crypto", "seq": "x", "payload": {}}',
        '{"channel": "price.crypto", "seq": 1, "snapshot": true, "payload": {"symbol": "btcusd",'
        ' "data": 5}}',
        '{"channel": "price.crypto", "seq": 2, "payload": {"symbol": "btcusd", "timestamp": 1,'
        ' "full_accuracy_value": "-5"}}',
        '{"channel": "price.crypto", "seq": 3, "payload": {"symbol": "btcusd", "timestamp": 1,'
        ' "value": 1e5}}',
        '{"channel": "price.crypto", "seq": 4, "snapshot": true, "payload": {"symbol": "btcusd",'
        ' "data": [7]}}',
    ]
    for text in bad:
        assert reader.read(text) == ([], None)
    assert counters.malformed == len(bad)
    assert reader.read('{"channel": "price.equity", "seq": 1, "payload": {}}') == ([], None)
    assert reader.read('{"channel": "price.crypto", "seq": 9, "payload": {"symbol": "dogeusd",'
                       ' "timestamp": 1, "value": 1}}') == ([], None)
    assert counters.unknown == 2
    assert "malformed PolyBolt frame" in caplog.text


def test_rtds_fixture_reads_the_1e18_fixed_point_exactly() -> None:
    counters = FeedCounters()
    reader = RtdsReader(["btc"], counters)
    frames = fixture("rtds_chainlink_update.json")
    assert isinstance(frames, list)
    ticks = [tick for frame in frames for tick in reader.read(json.dumps(frame))]
    usd = parse_reference_price
    assert ticks == [
        ReferenceTick("btc", "rtds", "spot", usd("76568.78"), 1777428654000),
        ReferenceTick("btc", "rtds", "spot", usd("76566.66361659291"), 1777428658000),
        ReferenceTick("btc", "rtds", "spot", usd("76579.44275333079"), 1777428595000),
        ReferenceTick("btc", "rtds", "spot", usd("76578.51"), 1777428596000),
    ]
    assert reader.read("PONG") == []
    # another topic (the exchange spot stream) is not the settlement's: not ours
    assert reader.read(json.dumps(fixture("rtds_crypto_prices_update.json"))) == []
    assert counters.unknown == 1 and counters.malformed == 0


def test_rtds_history_without_a_symbol_is_not_guessed_on_a_shared_connection() -> None:
    counters = FeedCounters()
    reader = RtdsReader(["btc", "eth"], counters)
    history = {"payload": {"data": [{"timestamp": 1, "value": 1.5}]}}
    assert reader.read(json.dumps(history)) == []
    assert counters.unknown == 1
    for bad in ["{", '{"topic": "crypto_prices_chainlink", "type": "update", "payload": {'
                '"symbol": "btc/usd", "timestamp": 1, "full_accuracy_value": "12.5"}}']:
        assert reader.read(bad) == []
    assert counters.malformed == 2
