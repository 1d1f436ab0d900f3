"""The core's order handling (wishes to orders) on the paper venue, and the portfolio caps."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from gabagool import _core
from gabagool.config import load_settings
from gabagool.engine.capital import CapitalLedger
from gabagool.engine.core import Mode, WindowCore
from gabagool.engine.core.driver import WindowDriver
from gabagool.engine.core.rules import realised_within_rule
from gabagool.engine.core.snapshot import WindowSnapshot
from gabagool.engine.portfolio import Portfolio
from gabagool.venues.paper_market import PaperMarket
from test_engine_scenarios import Recorder, at, books, header, stamped

SHARE = 1_000_000


@dataclass(frozen=True)
class Wish:
    """Shaped like `_core.Intent`, which Python cannot construct."""

    outcome: str
    price: int
    size: int = 10 * SHARE
    action: str = "buy"
    order_type: str = "GTC"
    post_only: bool = True
    rule: str = "opening"


class Harness:
    def __init__(self, *, max_rejects: int = 3) -> None:
        env = {"GABAGOOL_RISK_MAX_REJECTS_PER_MINUTE": str(max_rejects)}
        self.core = WindowCore(header(), load_settings(environ=env, dotenv=None))
        self.venue = PaperMarket(
            header(), self.core.market, min_order_size=self.core.params.min_order_size
        )
        self.driver = WindowDriver(self.core, self.venue)
        self.t = at(1)
        (frame,) = stamped([(self.t, books("0.39", "0.41"))])
        self.driver.frame(self.t, frame[1].encode())
        self.driver.advance(at(1) + 1)
        # what the scan bid on its own goes: these tests make their own wishes
        self.driver.step_commands(self.t, self.core.halt(self.t, "clear"))
        self.core.resume(self.t)

    def act(self, owner: str, wishes: list[Wish], seconds: float | None = None) -> None:
        if seconds is not None:
            self.t = at(seconds)
        out: list = []  # type: ignore[type-arg]
        self.core._act(owner, wishes, self.t, out)  # type: ignore[arg-type]
        self.driver.step_commands(self.t, out)

    def resting(self) -> list[tuple[str, int, str]]:
        return [
            (r.request.outcome, r.request.price, r.request.rule) for r in self.venue.reconcile()
        ]


def test_an_unchanged_wish_keeps_its_resting_order_and_a_new_price_replaces_it() -> None:
    h = Harness()
    h.act("accumulator", [Wish("up", 380_000)])
    (first,) = h.venue.reconcile()
    h.act("accumulator", [Wish("up", 380_000)])
    assert [r.client_id for r in h.venue.reconcile()] == [first.client_id]  # queue kept
    h.act("accumulator", [Wish("up", 370_000)])
    (second,) = h.venue.reconcile()
    assert second.client_id != first.client_id and second.request.price == 370_000
    h.act("accumulator", [])
    assert h.venue.reconcile() == []


def test_nothing_but_liquidation_is_placed_while_the_window_is_halted() -> None:
    h = Harness()
    h.core.halt(h.t, "manual halt")
    h.act("accumulator", [Wish("up", 380_000)])
    assert h.venue.reconcile() == []
    h.core.position.buy("up", 400_000, 10 * SHARE, 0)
    sell = Wish(
        "up", 390_000, action="sell", order_type="FAK", post_only=False, rule="stop_loss_sell"
    )
    h.act("risk", [sell])
    assert h.core.position.qty_up == 0


def test_the_equalizer_bid_replaces_the_accumulators_only_when_higher() -> None:
    h = Harness()
    h.act("accumulator", [Wish("down", 580_000, rule="pairing")])
    h.act("equalizer", [Wish("down", 570_000, rule="equalize_maker")])
    assert [rule for _, _, rule in h.resting()] == ["pairing"]
    h.act("equalizer", [Wish("down", 590_000, rule="equalize_maker")])
    assert [rule for _, _, rule in h.resting()] == ["equalize_maker"]


def test_too_many_rejects_in_a_minute_pause_the_window_but_post_only_crosses_do_not() -> None:
    h = Harness(max_rejects=3)
    for _ in range(5):  # a post-only bid at the ask: a race with the book, not an error
        h.act("accumulator", [Wish("up", 410_000)])
    assert h.core.orders.stats.post_only_crosses == 5 and h.core.reject_storms == 0
    for seconds in (10, 40, 70):  # under the minimum size: refused by the venue
        h.act("accumulator", [Wish("up", 380_000, size=SHARE)], seconds)
    assert h.core.reject_storms == 0  # three in a minute is the limit, spread over a minute
    for seconds in (71, 72, 73, 74):
        h.act("accumulator", [Wish("up", 380_000, size=SHARE)], seconds)
    assert h.core.reject_storms == 1
    assert h.core.mode is Mode.PAUSED and h.core.blocked() == "paused after order rejects"


def test_taker_intents_are_sent_at_once_and_their_fills_booked() -> None:
    h = Harness()
    fak = Wish("up", 410_000, order_type="FAK", post_only=False, rule="equalize_taker")
    h.act("equalizer", [fak])
    assert h.core.position.qty_up == 10 * SHARE
    assert h.core.position.fees_paid == h.core.fees.taker_fee(410_000, 10 * SHARE)
    assert h.venue.reconcile() == []
    (fill,) = h.core.fills
    order = h.core.orders.get(fill.client_id)
    assert order is not None and order.placement.qty_self == 0


PARAMS = _core.StrategyParams()


def judged(rule: str, price: int, held: tuple[int, int, int, int], fee: int = 0) -> bool:
    qty_self, cost_self, qty_other, cost_other = held
    return realised_within_rule(
        rule,
        PARAMS,
        price=price,
        size=10 * SHARE,
        fee=fee,
        qty_self=qty_self,
        cost_self=cost_self,
        qty_other=qty_other,
        cost_other=cost_other,
    )


@pytest.mark.parametrize(
    ("rule", "price", "held", "ok"),
    [
        ("opening", 450_000, (0, 0, 0, 0), True),
        ("opening", 460_000, (0, 0, 0, 0), False),
        # 10 Up at 0.40: a pairing Down fill may pay up to 0.58
        ("pairing", 580_000, (0, 0, 10 * SHARE, 4 * 10**12), True),
        ("pairing", 590_000, (0, 0, 10 * SHARE, 4 * 10**12), False),
        # equalizing judges the resulting pair: 10 Down at 0.50 held, 20 Up at 0.45
        ("equalize_maker", 590_000, (10 * SHARE, 5 * 10**12, 20 * SHARE, 9 * 10**12), True),
        ("equalize_maker", 620_000, (10 * SHARE, 5 * 10**12, 20 * SHARE, 9 * 10**12), False),
    ],
)
def test_a_fill_is_judged_by_the_rule_it_was_placed_under(
    rule: str, price: int, held: tuple[int, int, int, int], ok: bool
) -> None:
    assert judged(rule, price, held) is ok


def test_a_fee_counts_against_the_rule() -> None:
    # 0.57 + 0.011 fee a share + 0.40 > 0.98
    assert judged("pairing", 570_000, (0, 0, 10 * SHARE, 4 * 10**12), fee=110_000) is False


def test_an_equalizing_fill_exactly_at_max_pair_cost_is_a_breach_as_the_scan_prices_it() -> None:
    # 10 Up at 0.45 held; 10 Down at 0.55 makes a pair of exactly 1.00: the scan bids
    # strictly below max_pair_cost, so the check does too (it used `<=` and drifted)
    assert judged("equalize_maker", 550_000, (0, 0, 10 * SHARE, 45 * 10**11)) is False
    assert judged("equalize_maker", 540_000, (0, 0, 10 * SHARE, 45 * 10**11)) is True


# ---- the portfolio ------------------------------------------------------------------------


class _Window:
    """A window as the portfolio sees it: snapshots of a core whose position we set."""

    def __init__(self, up: int, down: int, market_id: str = "m") -> None:
        self.core = WindowCore(header(), load_settings(None))
        self.market_id = market_id
        if up:
            self.core.position.buy("up", 400_000, up, 0)
        if down:
            self.core.position.buy("down", 500_000, down, 0)

    def snapshot(self) -> WindowSnapshot:
        import msgspec

        return msgspec.structs.replace(self.core.snapshot(), market_id=self.market_id)

    def committed(self) -> int:
        return self.core.committed()

    def exposure(self) -> int:
        return self.core.exposure()


def _portfolio() -> Portfolio:
    return Portfolio(
        max_capital=30 * 10**12, max_unhedged=50 * SHARE, daily_loss_limit=10**14, events=Recorder()
    )


def test_portfolio_caps_add_up_every_open_window() -> None:
    portfolio = _portfolio()
    portfolio.add(_Window(40 * SHARE, 0, "a"))
    portfolio.add(_Window(0, 5 * SHARE, "b"))
    assert portfolio.capital_deployed() == 16 * 10**12 + 25 * 10**11
    assert portfolio.unhedged() == 45 * SHARE
    assert portfolio.rooms == (30 * 10**12 - (16 * 10**12 + 25 * 10**11), 5 * SHARE)


def test_portfolio_sums_follow_snapshots_and_windows_coming_and_going() -> None:
    portfolio = _portfolio()
    first, second = _Window(40 * SHARE, 0, "a"), _Window(0, 5 * SHARE, "b")
    portfolio.add(first)
    assert portfolio.rooms[1] == 10 * SHARE
    portfolio.add(second)
    assert portfolio.rooms[1] == 5 * SHARE
    second.core.position.buy("up", 500_000, 5 * SHARE, 0)  # pairs its 5 Down
    portfolio.update(second.snapshot())
    assert portfolio.rooms[1] == 10 * SHARE
    portfolio.remove(first)
    assert portfolio.rooms == (30 * 10**12 - 5 * 10**12, 50 * SHARE)


def test_a_fill_moves_the_caps_rooms_before_the_windows_mark_is_published() -> None:
    portfolio = _portfolio()
    window = _Window(0, 5 * SHARE, "b")
    portfolio.add(window)
    mark_before = portfolio.marks["b"]
    # what a window tells the portfolio at a fill: its position, no read of the books
    window.core.position.buy("up", 500_000, 5 * SHARE, 0)  # pairs its 5 Down
    portfolio.hold("b", window.core.position)
    assert portfolio.rooms == (25 * 10**12, 50 * SHARE)
    assert portfolio.marks["b"] is mark_before  # the mark waits for the instant's end
    # a window the portfolio no longer counts
    portfolio.hold("gone", SimpleNamespace(cost_up=10**15, cost_down=0, delta=10**12))
    assert portfolio.rooms == (25 * 10**12, 50 * SHARE)


class _Reserved:
    """What a shared store reports held in its capital ledger."""

    def __init__(self, total: int) -> None:
        self.total = total

    async def reserved_capital(self, ledger: str) -> int:
        return self.total


async def test_a_read_of_what_other_engines_hold_moves_the_capital_room() -> None:
    portfolio = _portfolio()
    store = _Reserved(0)
    portfolio.ledger = CapitalLedger(
        store,  # type: ignore[arg-type]
        holder="this",
        cap=portfolio.max_capital,
        on_refresh=portfolio.recount,
    )
    portfolio.add(_Window(40 * SHARE, 0))
    assert portfolio.rooms[0] == 14 * 10**12
    store.total = 4 * 10**12  # another engine holds $4
    await portfolio.ledger.refresh()
    assert portfolio.rooms[0] == 10 * 10**12


def test_a_failure_halts_the_portfolio_and_a_resume_does_not_lift_it() -> None:
    portfolio = _portfolio()
    told: list[str] = []
    portfolio.listen(lambda: told.append("halt"))
    portfolio.fail("journal write failed: disk full")
    assert portfolio.halted and told == ["halt"]
    portfolio.resume()
    assert portfolio.halted and portfolio.failure == "journal write failed: disk full"
