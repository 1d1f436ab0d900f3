"""Settings: defaults, TOML, environment and flags in order; exact units; one-line errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from gabagool.cli import main
from gabagool.config import ConfigError, load_settings

NO_ENV: dict[str, str] = {}


def test_defaults_are_the_design_parameters_in_core_units() -> None:
    params = load_settings(environ=NO_ENV, dotenv=None).strategy_params("maker")
    assert params == {
        "mode": "maker",
        "target_pair_cost": 980_000,
        "entry_max_price": 600_000,
        "max_pair_cost": 1_000_000,
        "trade_size": 10_000_000,
        "min_order_size": 5_000_000,
        "max_delta": 50_000_000,
        "hedge_slippage": 20_000,
        "liquidity_multiple": 3,
        "open_cutoff_ms": 300_000,
        "quote_cutoff_ms": 10_000,
        "taker_cutoff_ms": 30_000,
        "stop_loss_ppm": 0,  # off: no forced selling by default (docs/STRATEGY.md)
        "fee_blind": False,
        "unhedged_cap": 3_000_000_000_000,
        "delta_per_pair_ppm": 100_000,
        "skew_ticks_per_clip": 0,
        "lag_bid_ticks": 1,
        "mid_edge": None,
        "excess_min_mid": 600_000,
    }


def test_toml_then_env_then_flags_each_override_the_last(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text(
        "[strategy]\ntarget_pair_cost = 0.97\ntrade_size = 12\n[engine]\nassets = ['sol']\n"
    )
    env = {"GABAGOOL_STRATEGY_TRADE_SIZE": "15", "GABAGOOL_ENGINE_ASSETS": "btc, xrp"}
    s = load_settings(path, environ=env, overrides={"engine.assets": "eth"}, dotenv=None)
    assert s.strategy.target_pair_cost == Decimal("0.97")
    assert s.strategy.trade_size == Decimal("15")
    assert s.engine.assets == ["eth"]
    s = load_settings(path, environ=env, dotenv=None)
    assert s.engine.assets == ["btc", "xrp"]


def test_dotenv_is_read_and_the_environment_wins_over_it(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text('# secrets\nGABAGOOL_POLYMARKET_API_KEY="k1"\nGABAGOOL_RISK_MAX_CAPITAL=5\n')
    s = load_settings(environ={"GABAGOOL_RISK_MAX_CAPITAL": "7"}, dotenv=dotenv)
    assert s.polymarket.api_key == "k1"
    assert s.risk.max_capital == Decimal("7")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GABAGOOL_STRATEGY_TARGET_PAIR_COST": "1.5"}, "strategy.target_pair_cost: 1.5"),
        ({"GABAGOOL_RISK_TASK_RESTARTS": "many"}, "risk.task_restarts: Expected `int`"),
        ({"GABAGOOL_STRATEGY_TRADE_SIZE": "10.0000001"}, "strategy.trade_size: 10.0000001"),
        ({"GABAGOOL_STRATEGY_TRADE_SIZE": "4"}, "strategy.trade_size: 4 is out of range"),
        ({"GABAGOOL_STRATEGY_MODE": "yolo"}, "strategy.mode"),
        ({"GABAGOOL_RISK_MAX_CAPITOL": "1"}, "GABAGOOL_RISK_MAX_CAPITOL: unknown setting"),
        ({"GABAGOOL_ENGINE_FEED": "carrier-pigeon"}, "engine.feed: carrier-pigeon"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env, dotenv=None)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_variables_outside_the_settings_sections_are_left_alone() -> None:
    assert load_settings(environ={"GABAGOOL_STORE_URL": "redis://x"}, dotenv=None)


def test_unknown_toml_key_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text("[strategy]\ntarget_pair_cots = 0.97\n")
    with pytest.raises(ConfigError, match=r"strategy\.target_pair_cots: unknown setting"):
        load_settings(path, environ=NO_ENV, dotenv=None)


def test_config_show_redacts_secrets(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setenv("GABAGOOL_POLYMARKET_PRIVATE_KEY", "0xdeadbeefsecret")
    monkeypatch.setenv("GABAGOOL_POLYMARKET_FUNDER", "0xfunder")
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "deadbeef" not in out
    assert 'private_key = "***"' in out
    assert 'funder = "0xfunder"' in out
    assert 'target_pair_cost = "0.98"' in out


def test_config_show_exits_2_with_one_line_on_a_bad_value(
    capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setenv("GABAGOOL_STRATEGY_MAX_DELTA", "-3")
    monkeypatch.chdir(Path(__file__).parent)
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "gabagool config: strategy.max_delta: -3 is out of range, expected > 0"
