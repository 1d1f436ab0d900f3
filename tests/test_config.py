"""Settings: defaults, TOML, environment and flags in order; exact units; one-line errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from gabagool.cli import main
from gabagool.config import ConfigError, load_settings
from hypothesis import given
from hypothesis import strategies as st

NO_ENV: dict[str, str] = {}


def test_defaults_are_the_design_parameters_in_core_units() -> None:
    params = load_settings(environ=NO_ENV, dotenv=None).strategy_params("maker")
    assert params == {
        "mode": "maker",
        "target_pair_cost": 970_000,
        "entry_max_price": 600_000,
        "max_pair_cost": 1_000_000,
        "trade_size": 10_000_000,
        "min_order_size": 5_000_000,
        "max_delta": 50_000_000,
        "hedge_slippage": 20_000,
        "liquidity_multiple": 3,
        "open_cutoff_ms": 450_000,
        "quote_cutoff_ms": 10_000,
        "taker_cutoff_ms": 30_000,
        "stop_loss_ppm": 0,  # off: no forced selling by default (docs/STRATEGY.md)
        "fee_blind": False,
        "unhedged_cap": 1_500_000_000_000,
        "delta_per_pair_ppm": 100_000,
        "skew_ticks_per_clip": 0,
        "lag_bid_ticks": 1,
        "mid_edge": None,
        "excess_min_mid": 0,
        "equalizer": False,  # off: it paid over the true value (docs/STRATEGY.md)
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
    assert 'target_pair_cost = "0.97"' in out


def test_config_show_exits_2_with_one_line_on_a_bad_value(
    capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setenv("GABAGOOL_STRATEGY_MAX_DELTA", "-3")
    monkeypatch.chdir(Path(__file__).parent)
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "gabagool config: strategy.max_delta: -3 is out of range, expected > 0"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("STRATEGY_TRADE_SIZE", "1e13", "strategy.trade_size: 1E+13 is out of range, expected <="),
        ("STRATEGY_MAX_DELTA", "1e9", "strategy.max_delta: 1E+9 is out of range"),
        ("STRATEGY_TRADE_SIZE", "10.005", "a multiple of 0.01 share"),
        ("RISK_MAX_CAPITAL", "1e30", "risk.max_capital: 1E+30 is out of range"),
        ("RISK_DAILY_LOSS_LIMIT", "1e10", "risk.daily_loss_limit: 1E+10 is out of range"),
        ("RISK_MAX_UNHEDGED", "1e9", "risk.max_unhedged: 1E+9 is out of range"),
        ("STRATEGY_OPEN_CUTOFF", "901", "strategy.open_cutoff: 901 is out of range"),
        ("STRATEGY_LIQUIDITY_MULTIPLE", "1001", "strategy.liquidity_multiple: 1001"),
        ("STRATEGY_MAX_PAIR_COST", "0.9", "strategy.max_pair_cost: 0.9 is out of range"),
        ("RISK_TASK_RESTARTS", "10000000", "risk.task_restarts: 10000000 is out of range"),
        ("RISK_STALE_AFTER", "1e6", "risk.stale_after"),
        ("ENGINE_SPEED", "1e6", "engine.speed: 1E+6 is out of range"),
        ("ENGINE_DURATION", "1e12", "engine.duration: 1E+12 is out of range"),
        ("ENGINE_DURATION", "1.0001", "engine.duration: 1.0001 is finer than a millisecond"),
        ("ENGINE_ROLLOVER_LEAD", "900", "engine.rollover_lead: 900 is out of range"),
        ("ENGINE_SEED", "-1", "engine.seed: -1 is out of range"),
        ("ENGINE_ASSETS", "btc,eth,btc", "engine.assets: btc named more than once"),
        ("PAPER_LATENCY_MS", "99999999", "paper.latency_ms"),
        ("POLYMARKET_SIGNATURE_TYPE", "7", "polymarket.signature_type: 7"),
        ("STORE_ENGINE_ID", "a b/../c", "store.engine_id"),
        ("STORE_URL", "redis://h:6379/zero", "store.url: store location redis://h:6379/zero"),
        ("STRATEGY_TARGET_PAIR_COST", "NaN", "strategy.target_pair_cost: NaN is not a finite"),
        ("STRATEGY_TRADE_SIZE", "1e-999999999", "strategy.trade_size: 1E-999999999"),
        ("STRATEGY_MAX_DELTA", "1e999999999", "strategy.max_delta: 1E+999999999"),
    ],
)
def test_every_setting_is_bounded_to_what_the_exchange_and_core_allow(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={f"GABAGOOL_{name}": value}, dotenv=None)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_bounds_themselves_are_accepted() -> None:
    env = {
        "GABAGOOL_STRATEGY_TRADE_SIZE": "100000000",
        "GABAGOOL_STRATEGY_MAX_DELTA": "100000000",
        "GABAGOOL_RISK_MAX_CAPITAL": "1000000000",
        "GABAGOOL_RISK_MAX_UNHEDGED": "100000000",
        "GABAGOOL_STRATEGY_OPEN_CUTOFF": "900",
        "GABAGOOL_ENGINE_SPEED": "10000",
        "GABAGOOL_ENGINE_DURATION": "31622400",
        "GABAGOOL_STORE_ENGINE_ID": "desk-1.btc_eth",
    }
    settings = load_settings(environ=env, dotenv=None)
    assert settings.strategy_params("maker")["trade_size"] == 100_000_000_000_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.000001", 1), ("12.5", 12_500_000), ("1E+2", 100_000_000), ("-0.5", -500_000),
     ("1.10000000000000000000000000000000000001", None), ("1e-50", None)],
)
def test_micros_is_exact_or_refuses(value: str, expected: int | None) -> None:
    from gabagool.config import micros

    if expected is None:
        with pytest.raises(ConfigError, match="more than 6 decimal places"):
            micros(Decimal(value), "k")
    else:
        assert micros(Decimal(value), "k") == expected


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_bytes(b"[engine]\nassets = ['\xff']\n")
    with pytest.raises(ConfigError, match=r"g\.toml: not UTF-8 text \(byte 0xff at offset 20\)"):
        load_settings(path, environ=NO_ENV, dotenv=None)
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(b"A=\x80\n")
    with pytest.raises(ConfigError, match=r"\.env: not UTF-8 text"):
        load_settings(environ=NO_ENV, dotenv=dotenv)


DECIMAL_TEXT = r"-?[0-9]{1,30}(\.[0-9]{0,30})?(E[+-]?[0-9]{1,3})?"


@given(
    st.decimals(allow_nan=True, allow_infinity=True)
    | st.builds(Decimal, st.from_regex(DECIMAL_TEXT, fullmatch=True))
)
def test_micros_is_the_exact_product_or_a_one_line_refusal(value: Decimal) -> None:
    from fractions import Fraction

    from gabagool.config import micros

    try:
        got = micros(value, "k")
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("k: ")
        if value.is_finite():
            exact = Fraction(value) * 1_000_000
            # refused: not whole millionths, or past every bound (MAX_SHIFT places)
            assert exact.denominator != 1 or abs(exact) >= 10**41
        return
    assert Fraction(got) == Fraction(value) * 1_000_000


def test_an_endless_config_file_is_refused_not_read_forever() -> None:
    with pytest.raises(ConfigError, match="/dev/zero: larger than 1000000 bytes"):
        load_settings("/dev/zero", environ=NO_ENV, dotenv=None)
