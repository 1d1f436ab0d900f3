"""The simulator's fast paths draw exactly what the plain calls would, so a seed's frames
never change when the simulator gets faster: a pinned digest of two windows' frames, and
the inlined draws checked against `random.Random`'s own."""

from __future__ import annotations

import hashlib
import random

import msgspec
import pytest
from gabagool.core import sim_price_change
from gabagool.sim import DEFAULT_START, MarketParams, WindowSimulator, chain_open, simulate
from gabagool.sim.model import gauss_draws, plan
from gabagool.sim.wire import randint_of

# sha256 of every (receive ns, source, text) line of the windows below, as the simulator
# wrote them before its hot paths were inlined (commit 586c6c7): a change here changes
# every backtest and calibration figure, and must be deliberate.
GOLDEN = {
    ("btc", DEFAULT_START, 1, None, None): (
        "560e4b4f0caf5ecbdf5128eed7a59caaad556c03740b80275891b27cfdfd7f97"
    ),
    ("xrp", DEFAULT_START + 900 * 5, 3, 2.4123, (2.0, 0.5)): (
        "f7ea95e689742565bf89428188e0b1dc45faaf8d4dad240b5d89649c67290eae"
    ),
}


def _digest(window: WindowSimulator) -> str:
    digest = hashlib.sha256()
    for t_ns, source, text in window.all_frames():
        digest.update(f"{t_ns} {source} {text}\n".encode())
    return digest.hexdigest()


@pytest.mark.parametrize("key", list(GOLDEN))
@pytest.mark.parametrize("keep_path", [False, True])
def test_a_seed_writes_the_same_frames_as_ever(
    key: tuple[str, int, int, float | None, tuple[float, float] | None], keep_path: bool
) -> None:
    asset, start, seed, open_price, scales = key
    params = (
        None
        if scales is None
        else MarketParams(volatility_scale=scales[0], informed_scale=scales[1])
    )
    window = WindowSimulator(
        asset, start, seed, open_price=open_price, params=params, keep_path=keep_path
    )
    assert _digest(window) == GOLDEN[key]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 7, 2002])
@pytest.mark.parametrize("spare", [False, True])
def test_gauss_draws_are_the_draws_of_gauss_and_leave_the_same_state(
    count: int, spare: bool
) -> None:
    plain, fast = random.Random(42), random.Random(42)
    if spare:  # a pair half used: the next gauss returns the cached half
        plain.gauss()
        fast.gauss()
    expected = [plain.gauss(0.3, 1.7) for _ in range(count)]
    assert gauss_draws(fast, 0.3, 1.7, count) == expected
    # the same stream afterwards, spare half included
    assert [fast.gauss() for _ in range(3)] == [plain.gauss() for _ in range(3)]
    assert fast.random() == plain.random()


@pytest.mark.parametrize(
    "low, high", [(0, 0), (1, 3), (2, 8), (250, 1450), (15_000_000, 60_000_000), (-5, 5)]
)
def test_randint_of_draws_what_randint_draws(low: int, high: int) -> None:
    plain, fast = random.Random(7), random.Random(7)
    draw = randint_of(fast, low, high)
    assert [draw() for _ in range(500)] == [plain.randint(low, high) for _ in range(500)]
    assert fast.random() == plain.random()


@pytest.mark.parametrize("params", [None, MarketParams(volatility_scale=2.0)])
def test_chain_open_is_the_close_of_the_window_before(params: MarketParams | None) -> None:
    windows = list(simulate("sol", 6, 11, params=params))
    assert chain_open("sol", DEFAULT_START, 11, params) is None
    for before, window in zip(windows, windows[1:], strict=False):
        assert chain_open("sol", window.start, 11, params) == before.close_price
        assert window.open_price == before.close_price
    scale = params.volatility_scale if params is not None else 1.0
    assert plan("sol", DEFAULT_START, 11, None, scale)[2] == windows[0].close_price


def _price(p: int) -> str:
    return f"0.{p:03d}".rstrip("0") if p % 1000 else str(p // 1000)


def _size(s: int) -> str:
    whole, cents = divmod(s, 100)
    return f"{whole}.{cents:02d}".rstrip("0") if cents else str(whole)


def test_the_core_writes_price_change_as_msgspec_wrote_the_dicts() -> None:
    up, down, market = "1" * 77, "2" * 77, "0x" + "ab" * 32
    changes = [(0, 480, 0), (1, 530, 12_345), (0, 1, 500), (1, 999, 7_028_120)]
    entries = []
    n = 41
    for side, price, total in changes:
        for token, p, buy, tops in (
            (up, price, side == 0, (480, 530)),
            (down, 1000 - price, side == 1, (470, 520)),
        ):
            entries.append(
                {
                    "asset_id": token,
                    "price": _price(p),
                    "size": _size(total),
                    "side": "BUY" if buy else "SELL",
                    "hash": hashlib.sha1(f"{up}:{n}".encode()).hexdigest(),
                    "best_bid": _price(tops[0]),
                    "best_ask": _price(tops[1]),
                }
            )
            n += 1
    payload = {
        "market": market,
        "price_changes": entries,
        "timestamp": "1767225600123",
        "event_type": "price_change",
    }
    text = sim_price_change(up, down, market, 480, 530, changes, 41, 1_767_225_600_123)
    assert text == msgspec.json.encode(payload).decode()
    with pytest.raises(ValueError, match="1001"):
        sim_price_change(up, down, market, 480, 530, [(0, 1001, 5)], 1, 0)
