"""Discovery: Gamma events and CLOB market facts into `DiscoveredWindow`s, exact decimals,
tokens by label, retries on 5xx/429, bad windows skipped and counted, `gabagool markets`."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import trio
from fakes.fake_polymarket import FakePolymarket
from gabagool.types import NS
from gabagool.venues.polymarket.clob_public import ClobPublic, parse_clob_market
from gabagool.venues.polymarket.clock import UnixClock
from gabagool.venues.polymarket.discovery import Discovery
from gabagool.venues.polymarket.gamma import GammaClient, Malformed, parse_event, window_start
from gabagool.venues.polymarket.rest import (
    RestClient,
    RetryPolicy,
    Unavailable,
    decode_json,
    retry_after_seconds,
)

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"
START = 1_767_225_600
# the captured 5-minute market's tokens, in the order its `outcomes` list them
CAPTURED_UP = "104239898038807136052399800151408521467737075933964991162589336683346093173875"
CAPTURED_DOWN = "71183960810705820955071415844881728181970340514894896943812046065452395013351"


def captured_market() -> dict:
    return decode_json((FIXTURES / "gamma_market.json").read_bytes())


def as_15m_event(market: dict, start: int) -> dict:
    """The captured market moved to a 15-minute window starting at `start`."""
    market = copy.deepcopy(market)
    market.pop("events", None)
    market["slug"] = f"btc-updown-15m-{start}"
    market["eventStartTime"] = "2026-01-01T00:00:00Z"
    market["endDate"] = "2026-01-01T00:15:00Z"
    market["feeSchedule"] = {"exponent": 1, "rate": Decimal("0.072"), "takerOnly": True,
                             "rebateRate": Decimal("0.2")}
    return {"slug": market["slug"], "eventMetadata": {"priceToBeat": Decimal("87123.45")},
            "markets": [market]}


def test_captured_gamma_market_maps_tokens_by_label_with_exact_decimals() -> None:
    window = parse_event(as_15m_event(captured_market(), START), "btc", START)
    assert (window.up_token, window.down_token) == (CAPTURED_UP, CAPTURED_DOWN)
    assert (window.tick_size, window.min_order_size) == ("0.01", "5")
    assert (window.fee_rate, window.fee_exponent, window.rebate_rate) == ("0.072", 1, "0.2")
    assert window.price_to_beat == "87123.45"
    assert (window.start, window.end) == (START, START + 900)
    assert window.accepting_orders and not window.closed and not window.neg_risk


def test_tokens_follow_labels_not_positions() -> None:
    event = as_15m_event(captured_market(), START)
    market = event["markets"][0]
    market["outcomes"] = '["Down", "Up"]'
    market["clobTokenIds"] = json.dumps([CAPTURED_DOWN, CAPTURED_UP])
    window = parse_event(event, "btc", START)
    assert (window.up_token, window.down_token) == (CAPTURED_UP, CAPTURED_DOWN)


def test_captured_five_minute_market_is_not_taken_for_a_fifteen_minute_window() -> None:
    market = captured_market()
    start = 1773307200
    market["slug"] = f"btc-updown-15m-{start}"
    with pytest.raises(Malformed, match="does not match"):
        parse_event({"markets": [market]}, "btc", start)


def test_fee_fixture_reads_exactly_but_yes_no_labels_are_refused() -> None:
    market = decode_json((FIXTURES / "gamma_market_fee_crypto.json").read_bytes())
    assert market["feeSchedule"]["rate"] == Decimal("0.07")  # never a float
    market["slug"] = f"btc-updown-15m-{START}"
    with pytest.raises(Malformed, match="not Up and Down"):
        parse_event({"markets": [market]}, "btc", START)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("clobTokenIds", "not json", "not a JSON list"),
        ("clobTokenIds", '["1"]', "two of each"),
        ("orderPriceMinTickSize", "abc", "not a decimal"),
        ("eventStartTime", "yesterday", "not an ISO timestamp"),
        ("conditionId", None, "not a 0x hex id"),
        ("acceptingOrders", "yes", "not a boolean"),
    ],
)
def test_malformed_fields_are_named(field: str, value: object, message: str) -> None:
    event = as_15m_event(captured_market(), START)
    event["markets"][0][field] = value
    with pytest.raises(Malformed, match=message):
        parse_event(event, "btc", START)


def test_clob_market_facts_from_short_keys() -> None:
    body = decode_json(
        '{"t": [{"t": "11", "o": "Up"}, {"t": "22", "o": "Down"}], "mos": 5, "mts": 0.001,'
        ' "nr": false, "fd": {"r": 0.072, "e": 1, "to": true}, "ao": true, "oas": 0}'
    )
    facts = parse_clob_market(body, "0xabc")
    assert facts.tokens == {"up": "11", "down": "22"}
    assert (facts.tick_size, facts.min_order_size, facts.fee_rate) == ("0.001", "5", "0.072")
    assert (facts.fee_exponent, facts.fee_taker_only, facts.neg_risk) == (1, True, False)
    assert facts.accepting_orders is True
    with pytest.raises(Malformed, match="nr"):
        parse_clob_market({**body, "nr": "no"}, "0xabc")


def test_retry_after_is_read_in_seconds_and_capped() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("3600") == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT") is None
    assert retry_after_seconds(None) is None


async def discovery_against(fake: FakePolymarket, client: httpx.AsyncClient) -> Discovery:
    rest = RestClient(client, RetryPolicy())
    return Discovery(GammaClient(rest, fake.gamma_url), ClobPublic(rest, fake.clob_url))


async def test_current_and_next_windows_from_the_fake(loopback_clock: trio.abc.Clock) -> None:
    fake = FakePolymarket(["btc", "eth"], START, windows=2)
    async with trio.open_nursery() as nursery, httpx.AsyncClient() as client:
        clock = UnixClock.starting_at((START + 100) * NS)
        await nursery.start(fake.run, clock)
        discovery = await discovery_against(fake, client)
        windows = await discovery.windows(["btc", "eth"], clock.now_s())
        assert [(w.asset, w.start) for w in windows] == [
            ("btc", START), ("btc", START + 900), ("eth", START), ("eth", START + 900)
        ]
        for w in windows:
            sim = fake.window_at(w.asset, w.start).sim
            # the fake lists Down first for every other window: labels decide
            assert (w.up_token, w.down_token) == (sim.up_token, sim.down_token)
            assert w.header() == sim.header
            assert w.version == "v1" and w.accepting_orders
            assert w.price_to_beat is not None and Decimal(w.price_to_beat) > 0
        assert discovery.skipped == 0
        nursery.cancel_scope.cancel()


async def test_gamma_500s_and_429s_are_retried(loopback_clock: trio.abc.Clock) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)
    async with trio.open_nursery() as nursery, httpx.AsyncClient() as client:
        clock = UnixClock.starting_at(START * NS)
        await nursery.start(fake.run, clock)
        fake.gamma_errors = [500, 429, 503]
        fake.retry_after = "2"
        rest = RestClient(client, RetryPolicy())
        gamma = GammaClient(rest, fake.gamma_url)
        began = trio.current_time()
        window = await gamma.window("btc", START)
        assert window.start == START
        assert (rest.retries, rest.throttled, fake.gamma_requests) == (3, 1, 4)
        assert trio.current_time() - began >= 2  # the 429's Retry-After was honoured
        fake.gamma_errors = [500] * 5
        with pytest.raises(Unavailable, match="HTTP 500 after 5 attempts"):
            await gamma.window("btc", START)
        nursery.cancel_scope.cancel()


async def test_missing_closed_and_malformed_windows_are_skipped_and_counted(
    loopback_clock: trio.abc.Clock,
) -> None:
    fake = FakePolymarket(["btc", "eth"], START, windows=2)
    async with trio.open_nursery() as nursery, httpx.AsyncClient() as client:
        clock = UnixClock.starting_at((START + 900 + 5) * NS)  # the first windows closed
        await nursery.start(fake.run, clock)
        fake.gamma_bodies[f"eth-updown-15m-{START + 900}"] = '[{"markets": "nonsense"}]'
        discovery = await discovery_against(fake, client)
        found = await discovery.windows(["btc", "eth"], clock.now_s())
        # btc: current found, next missing; eth: current malformed, next missing
        assert [(w.asset, w.start) for w in found] == [("btc", START + 900)]
        assert discovery.skipped == 3
        assert any("exactly one market" in text for text in discovery.warnings)
        assert any("has no event" in text for text in discovery.warnings)
        # a closed window is skipped too
        assert await discovery.window("btc", START) is None
        assert "closed" in discovery.warnings[-1]
        nursery.cancel_scope.cancel()


def test_window_start_is_the_enclosing_multiple_of_900() -> None:
    assert window_start(START) == START
    assert window_start(START + 899) == START
    assert window_start(START + 900) == START + 900


def test_markets_without_network_fails_fast_with_one_line(tmp_path: Path) -> None:
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    env = {
        "GABAGOOL_POLYMARKET_GAMMA_URL": closed,
        "GABAGOOL_POLYMARKET_CLOB_URL": closed,
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "gabagool", "markets", "--assets", "btc"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=30,  # the promise: an answer within 30 s
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gabagool markets: cannot reach the exchange")
    assert "127.0.0.1:9" in lines[0]


def test_markets_prints_current_and_next_windows_from_the_exchange(tmp_path: Path) -> None:
    import time

    from fakes.fake_polymarket import ThreadedFake

    start = window_start(int(time.time()))
    with ThreadedFake(FakePolymarket(["btc"], start, windows=2)) as fake:
        env = {
            "GABAGOOL_POLYMARKET_GAMMA_URL": fake.gamma_url,
            "GABAGOOL_POLYMARKET_CLOB_URL": fake.clob_url,
            "PATH": "/usr/bin:/bin",
        }
        command = [sys.executable, "-m", "gabagool", "markets", "--assets", "btc"]
        as_json = subprocess.run([*command, "--json"], capture_output=True, text=True,
                                 env=env, cwd=tmp_path, timeout=30)
        as_text = subprocess.run(command, capture_output=True, text=True,
                                 env=env, cwd=tmp_path, timeout=30)
    assert as_json.returncode == 0, as_json.stderr
    windows = json.loads(as_json.stdout)
    assert [w["start"] for w in windows] == [start, start + 900]
    for w in windows:
        sim = fake.window_at("btc", w["start"]).sim
        assert (w["up_token"], w["down_token"]) == (sim.up_token, sim.down_token)
        assert (w["tick_size"], w["min_order_size"], w["fee_rate"]) == ("0.01", "5", "0.072")
    assert as_text.returncode == 0, as_text.stderr
    lines = as_text.stdout.splitlines()
    assert lines[0].split()[0] == "window" and len(lines) == 3
    assert lines[1].startswith(f"btc-updown-15m-{start}") and " 0.01 " in lines[1]
    assert "0.072 (exp 1)" in lines[1]
