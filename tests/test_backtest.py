"""The backtest: exact attribution, deterministic parallel runs, sweeps, baselines."""

from __future__ import annotations

import json
from fractions import Fraction

import msgspec
import pytest
from gabagool.attribution import ledger_of, split
from gabagool.backtest import one, plan
from gabagool.backtest.one import run_one, run_with_timeline
from gabagool.backtest.result import to_json
from gabagool.backtest.runner import InlineExecutor, open_executor, run_windows
from gabagool.backtest.spec import (
    SpecError,
    WindowSpec,
    parse_seeds,
    parse_variant,
    sim_specs,
    window_frames,
)
from gabagool.backtest.stats import bootstrap_mean_ci
from gabagool.cli import main
from gabagool.config import ConfigError, load_settings
from gabagool.sim import DEFAULT_START
from gabagool.venues.base import Fill

SHARE = 1_000_000
PICO = 10**12


def fill(
    outcome: str, action: str, price: float, shares: int, fee: int = 0, maker: bool = True
) -> Fill:
    return Fill(
        order_id="o",
        client_id="c",
        market_id="m",
        outcome=outcome,  # type: ignore[arg-type]
        action=action,  # type: ignore[arg-type]
        price=round(price * 1_000_000),
        size=shares * SHARE,
        fee=fee,
        maker=maker,
    )


def test_attribution_splits_a_window_into_parts_that_add_up_exactly() -> None:
    # 30 Up at 0.40, 20 Down at 0.55, 5 Up sold at 0.30 (fee 0.1 $), Down wins.
    fills = [
        fill("up", "buy", 0.40, 30),
        fill("down", "buy", 0.55, 20),
        fill("up", "sell", 0.30, 5, fee=100_000, maker=False),
    ]
    parts = split(ledger_of((f, 0) for f in fills), "down", 0)
    # 20 pairs at 0.95: locked 1.00; 5 unpaired Up cost 2.00, pay 0; the sell lost 0.50.
    assert parts.locked == 1 * PICO
    assert parts.unpaired == -2 * PICO
    assert parts.sells == -PICO // 2
    assert parts.fees == -PICO // 10
    # settlement: 20 Down at $1 + 1.50 proceeds - 12 - 11 - 0.10 fee
    assert parts.total == 20 * PICO + 3 * PICO // 2 - 23 * PICO - PICO // 10
    up_wins = split(ledger_of((f, 0) for f in fills), "up", 0)
    assert up_wins.unpaired == 5 * PICO - 2 * PICO


def test_ledger_tracks_the_largest_unhedged_exposure_and_rebates() -> None:
    fills = [fill("up", "buy", 0.5, 10), fill("up", "buy", 0.4, 10), fill("down", "buy", 0.5, 20)]
    ledger = ledger_of((f, 1000) for f in fills)
    assert ledger.max_unhedged == 20 * SHARE
    assert ledger.max_unhedged_cost == 9 * PICO
    assert ledger.delta == 0 and ledger.maker_fills == 3
    assert split(ledger, "up", 200_000).rebates == 3 * 1000 * 200_000


def test_a_simulated_window_runs_on_the_engine_and_its_split_matches_its_settlement() -> None:
    settings = load_settings(environ={}, dotenv=None)
    spec = WindowSpec(seed=3, asset="btc", start=DEFAULT_START + 1800)  # fills on both sides
    result = run_one(spec, settings)
    assert result.settled and result.winner in ("up", "down")
    assert result.qty_up > 0 and result.qty_down > 0
    assert result.fills > 0 and result.fills == result.maker_fills + result.taker_fills
    # run_one refuses a split that does not add up to the engine's own settlement PnL
    assert result.pnl == result.locked + result.unpaired + result.sells + result.fees
    assert run_one(spec, settings) == result


def test_a_window_gives_the_same_result_whatever_the_process_ran_before() -> None:
    settings = load_settings(environ={}, dotenv=None)
    spec = WindowSpec(seed=6, asset="sol", start=DEFAULT_START)
    fresh = run_one(spec, settings)
    for other in sim_specs([7], ["btc"], 2):
        run_one(other, settings)
    assert run_one(spec, settings) == fresh


def test_the_timeline_follows_the_engines_fills_and_bids() -> None:
    settings = load_settings(environ={}, dotenv=None)
    spec = WindowSpec(seed=1000, asset="btc", start=DEFAULT_START)
    result, line = run_with_timeline(spec, settings)
    assert result == run_one(spec, settings)
    assert len(line.t) == len(line.up_bid) == len(line.down_ask) == len(line.delta)
    assert line.t[0] == 0 and line.t[-1] >= 890  # sampled every second to the last frame
    assert len(line.fills) == result.fills > 0
    assert line.delta[-1] == result.delta
    assert line.bids and all(start <= end for _, _, start, end in line.bids)
    assert any(b is not None for b in line.up_bid) and any(a is not None for a in line.down_ask)
    # a maker fill happens at one of our bids, while it rests
    for t, outcome, action, price, _, maker in line.fills:
        if maker and action == "buy":
            assert any(
                o == outcome and p == price and start <= t <= end for o, p, start, end in line.bids
            )


def test_an_attribution_that_does_not_add_up_is_refused() -> None:
    settings = load_settings(environ={}, dotenv=None)
    spec = WindowSpec(seed=3, asset="btc", start=DEFAULT_START + 900)
    window = window_frames(spec)
    engine = one._run(window, settings)
    assert engine.settlement_pnl is not None
    one._result(spec, window, settings, engine)
    wrong = msgspec.structs.replace(engine, settlement_pnl=engine.settlement_pnl + 1)
    with pytest.raises(AssertionError, match="attribution"):
        one._result(spec, window, settings, wrong)


def test_windows_chain_and_variations_change_the_market() -> None:
    first = window_frames(WindowSpec(seed=4, asset="eth", start=DEFAULT_START))
    second = window_frames(WindowSpec(seed=4, asset="eth", start=DEFAULT_START + 900))
    assert second.header.start == first.header.end
    calm = window_frames(WindowSpec(seed=4, asset="eth", start=DEFAULT_START, variant="vol=0.5"))
    assert calm.frames != first.frames
    assert parse_variant("vol=2,informed=0.5") == {"vol": 2, "informed": Fraction(1, 2)}
    with pytest.raises(SpecError, match="vol=X or informed=X"):
        parse_variant("speed=2")


def test_seed_lists_and_sweep_grids() -> None:
    assert parse_seeds("1-3,7,2") == [1, 2, 3, 7]
    for bad in ("", "3-1", "x"):
        with pytest.raises(SpecError):
            parse_seeds(bad)
    grid = plan.sweep_grid(["strategy.max_delta=10,20", "risk.stop_loss_pct=0,2"])
    assert grid[0] == {"strategy.max_delta": "10", "risk.stop_loss_pct": "0"}
    assert len(grid) == 4
    with pytest.raises(ConfigError, match="section.key=a,b,c"):
        plan.sweep_grid(["max_delta"])
    with pytest.raises(ConfigError, match="unknown setting"):
        plan.plan_runs({"strategy.nope": "1"}, [{}], None, baselines=False)
    specs = sim_specs([2, 1], ["eth", "btc"], 2)
    assert specs == sorted(specs) and len(specs) == 8 and specs[0].seed == 1


def test_baselines_are_settings_overrides() -> None:
    runs = plan.plan_runs({}, [{}], None, baselines=True)
    labels = [label for label, _, _ in runs]
    assert labels[0] == "settings" and len(labels) == 3
    original = runs[1][1]
    assert original.strategy.mode == "taker" and original.strategy.fee_blind
    assert original.strategy_params("taker")["fee_blind"] is True
    assert runs[2][1].risk.stop_loss_pct == 2


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    values = [(-1) ** i * i * PICO for i in range(50)]
    low, high = bootstrap_mean_ci(values)
    assert (low, high) == bootstrap_mean_ci(values)
    mean = Fraction(sum(values), len(values))
    assert low < mean < high
    assert bootstrap_mean_ci([5, 5, 5]) == (5, 5)


ARGS = ["backtest", "--sim", "2", "--assets", "btc,eth", "--windows", "2", "--no-baselines"]


def test_backtest_json_is_identical_under_one_and_two_jobs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*ARGS, "--json", "--jobs", "1"]) == 0
    one = capsys.readouterr().out
    assert main([*ARGS, "--json", "--jobs", "2"]) == 0
    two = capsys.readouterr().out
    assert one == two
    document = json.loads(one)
    assert document["windows"] == 4
    (run,) = document["runs"]
    assert [w["window"] for w in run["windows"]] == [
        "seed 2 btc #0",
        "seed 2 btc #1",
        "seed 2 eth #0",
        "seed 2 eth #1",
    ]
    assert len(document["gabagool22"]) == 12


def test_a_dask_cluster_gives_the_same_results() -> None:
    distributed = pytest.importorskip("distributed")
    settings = load_settings(environ={}, dotenv=None)
    specs = sim_specs([5], ["btc"], 2)
    local = run_windows([("a", settings)], specs, InlineExecutor())
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with open_executor(cluster=cluster.scheduler_address) as executor:
            remote = run_windows([("a", settings)], specs, executor)
    assert remote == local


def test_bad_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--sim", "1", "--assets", "doge", "--json"]) == 2
    assert "unknown asset 'doge'" in capsys.readouterr().err
    assert main(["backtest", "--sim", "1", "--set", "strategy.max_delta", "--json"]) == 2
    assert "expected section.key=value" in capsys.readouterr().err


def test_recordings_are_backtested_window_by_window(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "eth.zst"
    assert main(["sim", "--out", str(path), "--asset", "eth", "--windows", "2", "--seed", "9"]) == 0
    capsys.readouterr()
    args = ["backtest", str(path), "--no-baselines", "--json", "--jobs", "1"]
    assert main(args) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    assert [w["start"] for w in run["windows"]] == [DEFAULT_START, DEFAULT_START + 900]
    assert all(w["settled"] and w["file"] == str(path) for w in run["windows"])
    # the same windows from the simulator directly trade the same way
    sim = run_one(
        WindowSpec(seed=9, asset="eth", start=DEFAULT_START), load_settings(environ={}, dotenv=None)
    )
    assert run["windows"][0]["pnl"] == to_json(sim)["pnl"]
    assert main(["backtest", str(path), "--assets", "btc", "--json"]) == 2
    assert "no window of the assets" in capsys.readouterr().err
