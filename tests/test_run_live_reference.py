"""`gabagool run --feed live` with the reference-price feed: the engine on the fake Polymarket
and a fake PolyBolt streaming the simulator's underlying; the fair value reaches the summary,
and a PolyBolt that dies mid-window is said once, goes stale per `reference.stale_after`, and
never stops the run. No credential reaches the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio
from fakes.fake_polybolt import FakePolyBolt, Session
from fakes.fake_polymarket import FakePolymarket
from gabagool.commands import run as run_command
from gabagool.core import parse_reference_price
from gabagool.engine.live_wiring import ReferenceHub
from gabagool.sim.reference import reference_frames
from gabagool.types import NS
from gabagool.venues.polymarket.clock import UnixClock
from gabagool.venues.polymarket.live_feed import LiveMarketData
from rich.console import Console
from test_run_live import direct_store, live_settings

__all__ = ["direct_store"]  # the fixture, imported for the tests below

START = 1_767_225_600
KEY, SECRET, PASSPHRASE = "key-77a1", "c2VjcmV0LXJ1bi1uZXZlci1sb2dnZWQ=", "pass-run-3c9e"
DIES_AT = START + 600  # T-300 s of the first window


async def test_live_run_has_fair_value_and_survives_the_reference_feed_dying(
    tmp_path: Path,
    loopback_clock: trio.abc.Clock,
    direct_store: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakePolymarket(["btc"], START, windows=1)
    sim = fake.window_at("btc", START).sim
    clock = UnixClock.starting_at((START + 5) * NS)
    polybolt = FakePolyBolt(KEY, SECRET, PASSPHRASE,
                            [Session(stream=list(reference_frames([sim])))],
                            clock=clock, dies_at_ns=DIES_AT * NS)
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.run, clock)
        url = await nursery.start(polybolt.serve)
        settings = live_settings(
            fake, tmp_path,
            reference_source="auto",  # PolyBolt, since the credentials are set
            reference_polybolt_url=url,
            polymarket_api_key=KEY, polymarket_api_secret=SECRET,
            polymarket_api_passphrase=PASSPHRASE,
            engine_duration=str(900 + 60 + 30 - 5),
        )
        data = LiveMarketData(settings.polymarket, ["btc"], clock=clock,
                              resolution_wait=float(settings.engine.resolution_wait))
        summary = await run_command._main(
            settings, data, 0, False, Console(file=None, force_terminal=False), 1.0,
            run_command.Signals(),
        )
        nursery.cancel_scope.cancel()

    assert not summary.failure
    [window] = summary.windows
    assert window.winner == fake.window_at("btc", START).outcome
    # the fair value was there, from PolyBolt's prices and Gamma's price to beat
    assert polybolt.connections >= 1 and polybolt.streamed > 100
    assert window.reference_ticks > 100
    assert window.reference_open is not None
    assert parse_reference_price(window.reference_open) == parse_reference_price(
        sim.header.price_to_beat)
    assert window.fair_up is not None and window.fair_down is not None
    assert summary.totals.with_fair_value == 1
    # the feed died at T-300: the window's fair value went stale and stayed so, said once
    assert polybolt.dead and polybolt.refused >= 1
    assert window.fair_stale and window.stale_episodes >= 1
    stale = [r for r in caplog.records if "reference_stale" in r.getMessage()]
    assert 1 <= len(stale) == window.stale_episodes
    client = [r for r in caplog.records
              if r.name.endswith("reference") and r.levelno >= logging.WARNING]
    gone = [r for r in client if "1011" in r.getMessage()]
    assert len(gone) == 1, [r.getMessage() for r in client]
    retries = [r for r in caplog.records
               if r.name.endswith("reference") and "cannot connect" in r.getMessage()]
    assert retries and all(r.levelno == logging.DEBUG for r in retries)
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert SECRET not in text and PASSPHRASE not in text
    assert "reference feed gave up" not in text


def test_the_hub_is_what_reference_source_asks_for(tmp_path: Path) -> None:
    from gabagool.engine.live_wiring import reference_hub

    fake = FakePolymarket(["btc"], START, windows=1)

    def hub(**env: str) -> ReferenceHub | None:
        settings = live_settings(fake, tmp_path, **env)
        data = LiveMarketData(settings.polymarket, ["btc"])
        return reference_hub(data, settings)

    assert hub() is None  # off
    rtds = hub(reference_source="auto")
    assert rtds is not None and rtds.feed.name == "RTDS"
    with_keys = hub(reference_source="auto", polymarket_api_key=KEY,
                    polymarket_api_secret=SECRET, polymarket_api_passphrase=PASSPHRASE)
    assert with_keys is not None and with_keys.feed.name == "PolyBolt"
    assert SECRET not in repr(with_keys.feed.__dict__)


async def test_the_live_window_feed_passes_reference_frames_in_arrival_order() -> None:
    from gabagool.venues.polymarket.reference_frames import ReferenceTick, TickFrame
    from test_polymarket_feed import UP, Owner, book, make_feed

    feed = make_feed(Owner())
    ref = TickFrame((ReferenceTick("btc", "polybolt", "spot", 10**23, 5),))
    feed.deliver(1, book(UP, 1000, [("0.40", "10")], [("0.60", "10")]))
    feed.deliver_reference(2, ref)
    feed.alive(3)  # only a reference frame waits: the market's link still says it is alive
    frames = feed.frames()
    t, frame = await frames.__anext__()
    assert t == 1 and isinstance(frame, bytes)
    assert feed.shadow.best_bid("up") == (400_000, 10_000_000)
    assert await frames.__anext__() == (2, ref)
    assert await frames.__anext__() == (3, None)
    feed.close()
    assert [item async for item in frames] == []


class _StubFeed:
    """A window feed as the hub sees one: its header, whether it is detached, and what it
    was handed."""

    def __init__(self, asset: str, start: int, price_to_beat: str | None = None) -> None:
        from types import SimpleNamespace

        self.header = SimpleNamespace(asset=asset, start=start, price_to_beat=price_to_beat,
                                      slug=f"{asset}-updown-15m-{start}")
        self.detached = False
        self.got: list[tuple[int, object]] = []

    def deliver_reference(self, t_ns: int, frame: object) -> None:
        self.got.append((t_ns, frame))


async def test_the_hub_routes_ticks_by_asset_primes_late_windows_and_hands_a_late_price_to_beat(
) -> None:
    from types import SimpleNamespace

    from gabagool.venues.polymarket.reference_frames import ReferenceTick, TickFrame

    clock = UnixClock.starting_at(START * NS)
    data = SimpleNamespace(clock=clock, feeds={}, discovered={})
    hub = ReferenceHub(data, feed=None)  # type: ignore[arg-type]

    def tick(asset: str, ts_ms: int) -> ReferenceTick:
        return ReferenceTick(asset, "polybolt", "spot", 10**23 + ts_ms, ts_ms)

    btc, eth = _StubFeed("btc", START), _StubFeed("eth", START, price_to_beat="3000.5")
    for key, feed in ((("btc", START), btc), (("eth", START), eth)):
        data.feeds[key] = feed
        hub.prime(key, feed)  # type: ignore[arg-type]
    assert btc.got == [] and eth.got == []  # nothing seen yet, Gamma's price in the header
    old, new = tick("btc", START * 1000 - 400_000), tick("btc", START * 1000 + 1_000)
    hub._take([old, new, tick("eth", START * 1000 + 1_000)])
    [(_, frame)] = btc.got
    assert isinstance(frame, TickFrame) and frame.ticks == (old, new)
    assert len(eth.got) == 1
    # a window handed out later gets the last five minutes of its asset first
    late = _StubFeed("btc", START + 900)
    data.feeds[("btc", START + 900)] = late
    hub.prime(("btc", START + 900), late)  # type: ignore[arg-type]
    [(_, frame)] = late.got
    assert isinstance(frame, TickFrame) and frame.ticks == (new,)
    # Gamma's price to beat, once a later discovery has it, handed over once
    data.discovered[("btc", START + 900)] = SimpleNamespace(price_to_beat="100123.45")
    for _ in range(2):
        hub._price_to_beat(("btc", START + 900), late)  # type: ignore[arg-type]
    beats = [f for _, f in late.got if isinstance(f, TickFrame) and f.price_to_beat]
    assert [f.price_to_beat for f in beats] == [parse_reference_price("100123.45")]
    # a detached window is forgotten
    btc.detached = True
    hub._take([tick("btc", START * 1000 + 2_000)])
    assert len(btc.got) == 1 and len(late.got) == 3
