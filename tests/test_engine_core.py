"""The window core without Trio: its structure, its order lifecycle, and the plain loop."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from design_rules import DESIGN_PAIR_RULES
from gabagool.config import load_settings
from gabagool.engine.backtest_loop import run_window
from gabagool.engine.core import (
    CancelAll,
    FillEntry,
    Mode,
    OrderIntent,
    OrderState,
    Place,
    WindowCore,
)
from gabagool.engine.core.driver import WindowDriver, run_to_end
from gabagool.sim import WindowSimulator
from gabagool.venues.base import (
    Accepted,
    Cancelled,
    Filled,
    FillReversed,
    OrderReport,
    Unknown,
)
from gabagool.venues.paper_market import PaperMarket
from test_engine_scenarios import CONDITION, START, at, books, header, stamped, trade

SHARE = 1_000_000
ENGINE = Path(__file__).resolve().parents[1] / "python" / "gabagool" / "engine"


def test_importing_the_window_core_and_the_plain_loop_imports_no_trio() -> None:
    code = (
        "import sys, gabagool.engine.core, gabagool.engine.backtest_loop; "
        "print(sorted(m for m in sys.modules if m == 'trio' or m.startswith('trio.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def _imports(path: Path, package: str) -> set[str]:
    """Every gabagool.engine module `path` imports, type-checking imports included."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n for n in names if n.startswith(package))
    return found


def _engine_graph(only: str) -> dict[str, set[str]]:
    modules = {}
    for path in ENGINE.rglob("*.py"):
        rel = path.relative_to(ENGINE.parent.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        if name.startswith(only):
            modules[name] = path
    return {
        name: {m for m in _imports(path, "gabagool.engine") if m in modules and m != name}
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_engine_module_imports_in_a_cycle_type_checking_imports_included() -> None:
    graph = _engine_graph("gabagool.engine")
    assert {"gabagool.engine.core.window", "gabagool.engine.window"} <= set(graph)
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


# ---- the plain loop -----------------------------------------------------------------------


def _sim(seed: int = 2) -> tuple[WindowSimulator, list[tuple[int, str]]]:
    sim = WindowSimulator("btc", START, seed)
    return sim, list(sim.frames())


def test_the_same_window_run_twice_gives_the_same_fills_and_journal() -> None:
    settings = load_settings(None)
    sim, frames = _sim()
    first = run_window(frames, sim.header, settings, outcome=sim.outcome)
    second = run_window(frames, sim.header, settings, outcome=sim.outcome)
    assert first.fills and first.journal
    assert msgspec.json.encode(first) == msgspec.json.encode(second)


def test_the_plain_loop_settles_and_its_pnl_is_the_paper_venues_cash() -> None:
    settings = load_settings(None)
    sim, frames = _sim(3)
    result = run_window(frames, sim.header, settings, outcome=sim.outcome)
    assert result.winner == sim.outcome
    assert result.settlement_pnl is not None and result.settlement_pnl == result.paper_cash
    p = result.position
    bought = sum(f.size for f in result.fills if f.side == "buy")
    sold = sum(f.size for f in result.fills if f.side == "sell")
    assert p.qty_up + p.qty_down == bought - sold


def test_unparseable_frames_are_counted_and_the_window_still_settles() -> None:
    settings = load_settings(None)
    sim, frames = _sim()
    broken = []
    for index, (t, frame) in enumerate(frames):
        broken.append((t, frame))
        if index % 200 == 5:
            broken.append((t, "{not json"))
    result = run_window(broken, sim.header, settings, outcome=sim.outcome)
    assert result.bad_frames == len(broken) - len(frames) > 3
    assert sum(1 for _, action, _ in result.notices if action == "bad_frame") == result.bad_frames
    assert result.winner == sim.outcome and result.settlement_pnl is not None


# ---- the order lifecycle, scripted --------------------------------------------------------




class Script:
    """A core on scripted books, whose commands are collected instead of executed."""

    def __init__(self) -> None:
        settings = load_settings(environ=DESIGN_PAIR_RULES, dotenv=None)
        self.core = WindowCore(header(), settings, fallback_outcome=lambda: "up")
        self.t = at(1)
        self.core.on_frame(self.t, stamped([(self.t, books("0.40", "0.41"))])[0][1].encode())

    def tick(self, seconds: float) -> list:  # type: ignore[type-arg]
        self.t = at(seconds)
        return self.core.on_timer(self.t)

    def event(self, event: object) -> list:  # type: ignore[type-arg]
        return self.core.on_order_event(self.t, event)  # type: ignore[arg-type]

    def fill(self, client_id: str, fill_id: str, size: int = 10 * SHARE, **kw: object) -> Filled:
        fields: dict[str, object] = {
            "market_id": CONDITION,
            "client_id": client_id,
            "venue_id": f"v-{client_id}",
            "fill_id": fill_id,
            "outcome": "up",
            "side": "buy",
            "price": 400_000,
            "size": size,
            "fee": 0,
            "maker": True,
        }
        fields.update(kw)
        return Filled(**fields)  # type: ignore[arg-type]


def _placed(commands: list) -> list[Place]:  # type: ignore[type-arg]
    return [c for c in commands if isinstance(c, Place)]


def _up(commands: list) -> Place:  # type: ignore[type-arg]
    (place,) = [p for p in _placed(commands) if p.request.outcome == "up"]
    return place


def test_the_intent_is_journaled_before_the_place_command_is_given() -> None:
    s = Script()
    commands = s.tick(1)
    place = _up(commands)
    assert place.request.price == 400_000
    intents = [e for e in s.core.journal if isinstance(e, OrderIntent)]
    assert [i.request for i in intents] == [p.request for p in _placed(commands)]
    assert s.core.orders.get(place.request.client_id).state is OrderState.SENDING  # type: ignore[union-attr]


def test_a_fill_before_the_ack_is_applied_once_and_the_late_ack_finishes_the_order() -> None:
    s = Script()
    place = _up(s.tick(1))
    cid = place.request.client_id
    s.event(s.fill(cid, "t1"))
    assert s.core.position.qty_up == 10 * SHARE
    s.event(Accepted(market_id=CONDITION, client_id=cid, venue_id="v1", resting=True))
    order = s.core.orders.get(cid)
    assert order is not None and order.state is OrderState.FILLED and order.venue_id == "v1"
    assert s.core.position.qty_up == 10 * SHARE


def test_a_fill_after_the_cancel_is_applied_to_its_order() -> None:
    s = Script()
    place = _up(s.tick(1))
    cid = place.request.client_id
    s.event(Accepted(market_id=CONDITION, client_id=cid, venue_id="v1", resting=True))
    s.core.halt(s.t, "manual")  # cancels what rests
    s.event(Cancelled(market_id=CONDITION, client_id=cid, reason="requested"))
    assert s.core.orders.get(cid).state is OrderState.CANCELLED  # type: ignore[union-attr]
    s.event(s.fill(cid, "late", size=5 * SHARE))
    assert s.core.position.qty_up == 5 * SHARE
    assert [f.fill_id for f in s.core.fills] == ["late"]


def test_a_fill_reported_twice_counts_once() -> None:
    s = Script()
    place = _up(s.tick(1))
    cid = place.request.client_id
    s.event(s.fill(cid, "t1", size=4 * SHARE))
    s.event(s.fill(cid, "t1", size=4 * SHARE))
    assert s.core.position.qty_up == 4 * SHARE
    assert s.core.orders.stats.duplicate_fills == 1
    assert sum(isinstance(e, FillEntry) for e in s.core.journal) == 1


def test_a_fill_a_frame_makes_is_seen_by_the_scan_and_journaled_before_its_orders() -> None:
    """The records of a frame's fill wait for the scan it wakes (the decision first), and
    are journaled before that scan's intents, before anything is sent."""
    core = WindowCore(header(), load_settings(environ=DESIGN_PAIR_RULES, dotenv=None))
    venue = PaperMarket(header(), core.market, min_order_size=core.params.min_order_size)
    driver = WindowDriver(core, venue)
    t = at(1)
    driver.frame(t, stamped([(t, books("0.40", "0.41"))])[0][1].encode())
    driver.advance(at(1.5))
    assert ("up", 400_000) in [(r.request.outcome, r.request.price) for r in venue.reconcile()]
    seen_by_scan: list[int] = []
    core.on_intents = lambda: seen_by_scan.append(core.position.qty_up)
    t = at(2)
    driver.advance(t)
    frame = stamped([(t, trade("up", "0.40"))])[0][1].encode()
    sent = []
    for command in driver.frame_steps(t, frame):
        kinds = [type(e).__name__ for e in core.journal]
        sent.append((command, kinds, [f.fill_id for f in core.fills]))
    assert seen_by_scan and seen_by_scan[0] == 10 * SHARE
    assert sent, "the scan the fill woke sent nothing"
    _, kinds, fills = sent[0]
    assert len(fills) == 1 and kinds.count("FillEntry") == 1
    first_intent_after = kinds.index("OrderIntent", kinds.index("FillEntry"))
    assert kinds[kinds.index("FillEntry") : first_intent_after] == ["FillEntry", "OrderUpdate"]
    assert core.position.qty_up == 10 * SHARE and core.orders.stats.fills == 1


def test_a_frame_fill_waiting_for_its_records_is_recorded_before_the_next_event() -> None:
    s = Script()
    place = _up(s.tick(1))
    cid = place.request.client_id
    s.event(Accepted(market_id=CONDITION, client_id=cid, venue_id="v1", resting=True))
    assert s.core.on_frame_fill(s.t, s.fill(cid, "t1", size=4 * SHARE)) == []
    assert s.core.position.qty_up == 4 * SHARE
    s.event(Cancelled(market_id=CONDITION, client_id=cid, reason="requested"))
    kinds = [type(e).__name__ for e in s.core.journal]
    assert kinds[-2:] == ["FillEntry", "OrderUpdate"]  # the fill, then the cancel
    assert [f.fill_id for f in s.core.fills] == ["t1"]
    # and the same fill delivered again is a duplicate, counted once
    s.core.on_frame_fill(s.t, s.fill(cid, "t1", size=4 * SHARE))
    assert s.core.position.qty_up == 4 * SHARE and s.core.orders.stats.duplicate_fills == 1


def test_a_frame_fill_that_wakes_no_scan_is_recorded_by_the_instant_s_timer() -> None:
    s = Script()
    place = _up(s.tick(1))
    cid = place.request.client_id
    s.core.on_frame_fill(s.t, s.fill(cid, "t1", size=4 * SHARE))
    assert s.core.next_deadline() <= s.t  # the driver runs the timer at this instant
    scans = s.core.scans
    s.core.on_timer(s.t)
    assert s.core.scans == scans  # the scan it wants is held back by the minimum interval
    assert [f.fill_id for f in s.core.fills] == ["t1"]
    assert sum(isinstance(e, FillEntry) for e in s.core.journal) == 1


def test_a_reversed_provisional_fill_is_taken_back_out_of_the_position() -> None:
    s = Script()
    place = _up(s.tick(1))
    cid = place.request.client_id
    s.event(s.fill(cid, "t1", size=4 * SHARE, final=False))
    s.event(s.fill(cid, "t2", size=3 * SHARE))
    assert s.core.position.qty_up == 7 * SHARE
    s.event(FillReversed(market_id=CONDITION, client_id=cid, fill_id="t1", detail="FAILED"))
    assert s.core.position.qty_up == 3 * SHARE
    assert s.core.position.cost_up == 3 * SHARE * 400_000
    assert s.core.orders.get(cid).remaining == 7 * SHARE  # type: ignore[union-attr]
    s.event(FillReversed(market_id=CONDITION, client_id=cid, fill_id="t1"))  # once only
    assert s.core.position.qty_up == 3 * SHARE


def test_a_provisional_fill_confirmed_later_counts_once() -> None:
    s = Script()
    place = _up(s.tick(1))
    cid = place.request.client_id
    s.event(s.fill(cid, "t1", size=4 * SHARE, final=False))
    s.event(s.fill(cid, "t1", size=4 * SHARE, final=True))
    assert s.core.position.qty_up == 4 * SHARE and all(f.final for f in s.core.fills)


def test_an_unknown_post_outcome_is_held_in_doubt_until_reconciliation() -> None:
    s = Script()
    place = _up(s.tick(1))
    cid = place.request.client_id
    s.event(Unknown(market_id=CONDITION, client_id=cid, detail="POST timed out"))
    order = s.core.orders.get(cid)
    assert order is not None and order.state is OrderState.UNKNOWN
    assert s.core.exposure() == 10 * SHARE  # it may have been placed: it counts
    # not sent again blind: the next scans keep waiting for reconciliation
    assert [p for p in _placed(s.tick(3)) if p.request.outcome == "up"] == []
    report = OrderReport(client_id=cid, venue_id="v9", request=place.request, remaining=10 * SHARE)
    s.core.on_reconcile(s.t, [report])
    assert order.state is OrderState.LIVE and order.venue_id == "v9"
    s.core.on_reconcile(s.t, [])
    assert order.state is OrderState.CANCELLED


def test_a_crash_between_the_journal_write_and_the_send_leaves_an_intent_reconciliation_ends() -> (
    None
):
    s = Script()
    place = _up(s.tick(1))
    journal = list(s.core.journal)  # what was durable when the process died
    assert isinstance(journal[-1], OrderIntent)
    # the restarted core knows the order from the journal; the venue never saw it
    restarted = WindowCore(header(), load_settings(None), id_prefix="r1")
    restarted.orders.add(
        __import__("gabagool.engine.core.orders", fromlist=["TrackedOrder"]).TrackedOrder(
            place.request.client_id,
            place.request,
            "accumulator",
            s.core.orders.get(place.request.client_id).placement,  # type: ignore[union-attr]
            remaining=place.request.size,
        )
    )
    venue = PaperMarket(header(), restarted.market)
    restarted.on_reconcile(at(2), venue.reconcile())
    assert restarted.orders.get(place.request.client_id).state is OrderState.CANCELLED  # type: ignore[union-attr]


def test_halting_cancels_everything_and_blocks_new_orders() -> None:
    s = Script()
    _placed(s.tick(1))
    commands = s.core.halt(s.t, "manual")
    assert any(isinstance(c, CancelAll) for c in commands)
    assert _placed(s.tick(5)) == []
    assert s.core.blocked() == "window halted: manual"


def test_modes_follow_the_window_from_opening_to_settled() -> None:
    core = WindowCore(header(), load_settings(None), fallback_outcome=lambda: "down")
    venue = PaperMarket(header(), core.market)
    driver = WindowDriver(core, venue)
    assert core.mode is Mode.OPENING
    frames = stamped([(at(1), books("0.40", "0.41")), (at(2), trade("up", "0.40"))])
    for t, f in frames:
        driver.frame(t, f.encode())
    assert core.mode is Mode.TRADING
    driver.advance(at(100))
    assert core.mode is Mode.PAUSED and core.feed_stale  # no keep-alives: the link is dead
    driver.advance(at(900 - 5))
    assert core.mode is Mode.QUOTE_CUT
    run_to_end(driver, [])
    assert core.mode is Mode.SETTLED and core.winner == "down"


@pytest.mark.parametrize("latency_ms", [0, 50])
def test_latency_delays_orders_but_keeps_the_result_reproducible(latency_ms: int) -> None:
    settings = load_settings(None)
    sim, frames = _sim(1)
    a = run_window(frames, sim.header, settings, outcome=sim.outcome, latency_ms=latency_ms)
    b = run_window(frames, sim.header, settings, outcome=sim.outcome, latency_ms=latency_ms)
    assert msgspec.json.encode(a) == msgspec.json.encode(b)
