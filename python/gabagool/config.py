"""Settings: a TOML file, `.env`, `GABAGOOL_*` environment variables and flags, validated once.

Precedence, lowest first: defaults, the TOML file, `.env` in the working directory, the
environment, command-line flags. Every key is `section.field`; its environment variable is
`GABAGOOL_SECTION_FIELD` (e.g. `GABAGOOL_STRATEGY_TARGET_PAIR_COST=0.97`). Amounts are written
as a trader reads them (dollars, shares, seconds) and converted exactly to the core's integer
units here; a value that does not convert exactly is refused, never rounded.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

ENV_PREFIX = "GABAGOOL_"
SECRET_MARK = "***"


class ConfigError(ValueError):
    """A setting that is unknown, of the wrong type or out of range; the text names the key."""


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class StrategySettings(_Section):
    """DESIGN.md "Strategy rules": prices in dollars, sizes in shares, cutoffs in seconds."""

    mode: Literal["auto", "maker", "taker"] = "auto"  # auto: maker where takers pay fees
    target_pair_cost: Decimal = Decimal("0.98")
    entry_max_price: Decimal = Decimal("0.60")  # docs/STRATEGY.md: with excess_min_mid
    max_pair_cost: Decimal = Decimal("1.00")
    trade_size: Decimal = Decimal("10")
    min_order_size: Decimal = Decimal("5")
    max_delta: Decimal = Decimal("50")
    hedge_slippage: Decimal = Decimal("0.02")
    liquidity_multiple: int = 3
    open_cutoff: Decimal = Decimal("300")  # docs/STRATEGY.md: late lone legs lose
    quote_cutoff: Decimal = Decimal("10")
    taker_cutoff: Decimal = Decimal("30")
    min_interval: Decimal = Decimal("0.05")  # accumulator throttle between scans
    equalizer_interval: Decimal = Decimal("1")
    # bounds on unpaired risk, checked before buying (docs/STRATEGY.md); 0 = off
    unhedged_cap: Decimal = Decimal("3")  # dollars paid for unpaired shares, per window
    delta_per_pair_pct: Decimal = Decimal("10")  # |delta| as % of the paired quantity
    skew_ticks_per_clip: int = 0  # heavy side's bid this many ticks lower per clip of delta
    lag_bid_ticks: int = 1  # lagging side's bid up to this many ticks over the best bid
    fee_blind: bool = False  # decide as if no fee were charged (the original rule: baseline)
    mid_rule: bool = False  # buy a side only at or under its book mid minus `mid_edge`
    mid_edge: Decimal = Decimal("0")
    excess_min_mid: Decimal = Decimal("0.60")  # raise |delta| only on a side whose mid >= this


class RiskSettings(_Section):
    """DESIGN.md "Risk": money in dollars, sizes in shares, times in seconds."""

    stop_loss_pct: Decimal = Decimal("0")  # 0 = off (the default: no forced selling)
    risk_interval: Decimal = Decimal("5")
    daily_loss_limit: Decimal = Decimal("100")
    stale_after: Decimal = Decimal("10")
    blind_after: Decimal = Decimal("10")
    max_capital: Decimal = Decimal("1000")  # all open windows together, at cost
    max_unhedged: Decimal = Decimal("150")  # shares not paired, all open windows together
    exit_liquidity: Literal["warn", "halt"] = "warn"
    max_rejects_per_minute: int = 10
    reject_backoff: Decimal = Decimal("30")
    task_restarts: int = 3  # failures of one task before its window halts
    restart_backoff: Decimal = Decimal("1")


class EngineSettings(_Section):
    assets: list[str] = msgspec.field(default_factory=lambda: ["btc", "eth"])
    venue: Literal["paper", "live"] = "paper"
    feed: str = "sim"  # sim | live | replay:FILE
    speed: Decimal = Decimal("1")  # market seconds per real second on the simulated feed
    duration: Decimal | None = None  # market seconds, then a clean stop
    summary_json: str | None = None
    data_dir: str = "~/.local/share/gabagool"
    seed: int = 1
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    view: bool = True
    rollover_lead: Decimal = Decimal("30")  # open the next window this long before the end
    resolution_wait: Decimal = Decimal("60")  # after the end, for `market_resolved`


class PaperSettings(_Section):
    latency_ms: int = 0


class StoreSettings(_Section):
    """The durable journal: a Redis URL (`redis://[:password@]host:port/db`, `rediss://` for
    TLS, `unix://`), `sqlite:///path` or a file path; unset: `journal.sqlite3` in the data dir."""

    url: str | None = None
    # names this engine's capital reservation in a shared ledger; stable across restarts so a
    # restarted engine finds its own (default: from the assets it trades)
    engine_id: str | None = None


class PolymarketSettings(_Section):
    private_key: str | None = None
    funder: str | None = None
    api_key: str | None = None
    api_secret: str | None = None
    api_passphrase: str | None = None
    signature_type: int = 3


SECRET_KEYS = frozenset(
    {
        "polymarket.private_key",
        "polymarket.api_key",
        "polymarket.api_secret",
        "polymarket.api_passphrase",
    }
)


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    engine: EngineSettings = msgspec.field(default_factory=EngineSettings)
    strategy: StrategySettings = msgspec.field(default_factory=StrategySettings)
    risk: RiskSettings = msgspec.field(default_factory=RiskSettings)
    paper: PaperSettings = msgspec.field(default_factory=PaperSettings)
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    polymarket: PolymarketSettings = msgspec.field(default_factory=PolymarketSettings)

    def strategy_params(self, mode: str) -> dict[str, Any]:
        """Keyword arguments of `_core.StrategyParams` in core units, for `mode` maker|taker."""
        s, r = self.strategy, self.risk
        return {
            "mode": mode,
            "target_pair_cost": micros(s.target_pair_cost, "strategy.target_pair_cost"),
            "entry_max_price": micros(s.entry_max_price, "strategy.entry_max_price"),
            "max_pair_cost": micros(s.max_pair_cost, "strategy.max_pair_cost"),
            "trade_size": micros(s.trade_size, "strategy.trade_size"),
            "min_order_size": micros(s.min_order_size, "strategy.min_order_size"),
            "max_delta": micros(s.max_delta, "strategy.max_delta"),
            "hedge_slippage": micros(s.hedge_slippage, "strategy.hedge_slippage"),
            "liquidity_multiple": s.liquidity_multiple,
            "open_cutoff_ms": millis(s.open_cutoff, "strategy.open_cutoff"),
            "quote_cutoff_ms": millis(s.quote_cutoff, "strategy.quote_cutoff"),
            "taker_cutoff_ms": millis(s.taker_cutoff, "strategy.taker_cutoff"),
            # percent -> parts per million
            "stop_loss_ppm": micros(r.stop_loss_pct / 100, "risk.stop_loss_pct"),
            "fee_blind": s.fee_blind,
            "unhedged_cap": picos(s.unhedged_cap, "strategy.unhedged_cap"),
            "delta_per_pair_ppm": micros(s.delta_per_pair_pct / 100, "strategy.delta_per_pair_pct"),
            "skew_ticks_per_clip": s.skew_ticks_per_clip,
            "lag_bid_ticks": s.lag_bid_ticks,
            "mid_edge": micros(s.mid_edge, "strategy.mid_edge") if s.mid_rule else None,
            "excess_min_mid": micros(s.excess_min_mid, "strategy.excess_min_mid"),
        }

    def redacted(self) -> dict[str, dict[str, Any]]:
        """Every effective value as plain data, secrets replaced by `***`."""
        data: dict[str, dict[str, Any]] = msgspec.to_builtins(self)
        for key in SECRET_KEYS:
            section, field = key.split(".")
            if data[section].get(field) is not None:
                data[section][field] = SECRET_MARK
        if data["store"].get("url") is not None:
            data["store"]["url"] = redact_url(data["store"]["url"])
        return data

    def engine_id(self) -> str:
        return self.store.engine_id or "engine-" + "-".join(self.engine.assets)


def redact_url(url: str) -> str:
    """`url` with any password (in the user part or a `password=` query) replaced by `***`."""
    parts = urlsplit(url)
    if not parts.netloc and not parts.query:
        return url  # a file path
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{SECRET_MARK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key == "password" for key, _ in pairs):
            query = urlencode(
                [(k, SECRET_MARK if k == "password" else v) for k, v in pairs], safe="*"
            )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def micros(value: Decimal, key: str) -> int:
    """Dollars or shares -> millionths, exactly (ConfigError naming `key` otherwise)."""
    scaled = value * 1_000_000
    if scaled != scaled.to_integral_value():
        raise ConfigError(f"{key}: {value} has more than 6 decimal places")
    return int(scaled)


def millis(seconds: Decimal, key: str) -> int:
    scaled = seconds * 1000
    if scaled != scaled.to_integral_value():
        raise ConfigError(f"{key}: {seconds} s is finer than a millisecond")
    return int(scaled)


def picos(dollars: Decimal, key: str) -> int:
    return micros(dollars, key) * 1_000_000


def _field_types() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for section in msgspec.structs.fields(Settings):
        out[section.name] = {f.name: f.type for f in msgspec.structs.fields(section.type)}
    return out


def _set(tree: dict[str, dict[str, Any]], key: str, value: Any) -> None:
    section, _, field = key.partition(".")
    fields = _field_types()
    if section not in fields or field not in fields[section]:
        raise ConfigError(f"{key}: unknown setting")
    if isinstance(value, str) and fields[section][field] == list[str]:
        value = [part.strip() for part in value.split(",") if part.strip()]
    tree.setdefault(section, {})[field] = value


def env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """`GABAGOOL_SECTION_FIELD` variables as `section.field` keys. A misspelt field of a known
    section is an error; names outside the sections are left to whoever reads them."""
    fields = _field_types()
    out: dict[str, str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section = next((s for s in fields if rest.startswith(s + "_")), None)
        if section is None:
            continue
        if rest[len(section) + 1 :] not in fields[section]:
            raise ConfigError(f"{name}: unknown setting (no {section}.{rest[len(section) + 1 :]})")
        out[f"{section}.{rest[len(section) + 1 :]}"] = value
    return out


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (optionally quoted); comments and blank lines skipped."""
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[name.strip()] = value
    return out


def load_settings(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    dotenv: Path | None = Path(".env"),
) -> Settings:
    """The effective settings. `overrides` are flags as `section.field` keys (None = unset)."""
    tree: dict[str, dict[str, Any]] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).expanduser().read_text())
        except OSError as exc:
            raise ConfigError(f"config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        for section, values in raw.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{section}: expected a [{section}] table")
            for field, value in values.items():
                _set(tree, f"{section}.{field}", value)
    environment = dict(read_dotenv(dotenv)) if dotenv is not None else {}
    environment.update(os.environ if environ is None else environ)
    for key, value in env_overrides(environment).items():
        _set(tree, key, value)
    for key, value in (overrides or {}).items():
        if value is not None:
            _set(tree, key, value)
    try:
        # strict=False: environment values are strings ("0.97", "true", "3")
        settings = msgspec.convert(tree, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_readable(str(exc))) from None
    validate(settings)
    return settings


def _readable(message: str) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.risk.task_restarts`"; lead with the key
    text, sep, where = message.rpartition(" - at `$.")
    if not sep:
        return message
    return f"{where.rstrip('`')}: {text}"


def _check(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {value} is out of range, expected {expected}")


def validate(settings: Settings) -> None:
    """Ranges and relations between settings; the first violation, as one line."""
    s, r, e = settings.strategy, settings.risk, settings.engine
    for key in ("target_pair_cost", "entry_max_price", "hedge_slippage"):
        value = getattr(s, key)
        _check(0 < value < 1, f"strategy.{key}", value, "0 < value < 1")
    # above 1: pairing a lone leg at a small loss beats holding it to a likely total loss
    _check(
        0 < s.max_pair_cost <= Decimal("1.1"), "strategy.max_pair_cost", s.max_pair_cost, "(0, 1.1]"
    )
    for key in ("trade_size", "min_order_size", "max_delta"):
        value = getattr(s, key)
        _check(value > 0, f"strategy.{key}", value, "> 0")
    _check(
        s.trade_size >= s.min_order_size,
        "strategy.trade_size",
        s.trade_size,
        f">= strategy.min_order_size ({s.min_order_size})",
    )
    _check(s.liquidity_multiple >= 0, "strategy.liquidity_multiple", s.liquidity_multiple, ">= 0")
    for key in ("open_cutoff", "quote_cutoff", "taker_cutoff", "min_interval"):
        value = getattr(s, key)
        _check(value >= 0, f"strategy.{key}", value, ">= 0")
    _check(s.equalizer_interval > 0, "strategy.equalizer_interval", s.equalizer_interval, "> 0")
    _check(s.unhedged_cap >= 0, "strategy.unhedged_cap", s.unhedged_cap, ">= 0")
    _check(
        0 <= s.delta_per_pair_pct <= 100,
        "strategy.delta_per_pair_pct",
        s.delta_per_pair_pct,
        "[0, 100]",
    )
    _check(abs(s.mid_edge) <= Decimal("0.5"), "strategy.mid_edge", s.mid_edge, "[-0.5, 0.5]")
    _check(0 <= s.excess_min_mid < 1, "strategy.excess_min_mid", s.excess_min_mid, "[0, 1)")
    for key in ("skew_ticks_per_clip", "lag_bid_ticks"):
        value = getattr(s, key)
        _check(0 <= value <= 100, f"strategy.{key}", value, "[0, 100]")
    _check(
        s.quote_cutoff <= s.open_cutoff,
        "strategy.quote_cutoff",
        s.quote_cutoff,
        f"<= strategy.open_cutoff ({s.open_cutoff})",
    )
    _check(0 <= r.stop_loss_pct <= 100, "risk.stop_loss_pct", r.stop_loss_pct, "[0, 100]")
    for key in ("risk_interval", "stale_after", "blind_after", "restart_backoff"):
        value = getattr(r, key)
        _check(value > 0, f"risk.{key}", value, "> 0")
    for key in ("daily_loss_limit", "max_capital", "max_unhedged", "reject_backoff"):
        value = getattr(r, key)
        _check(value >= 0, f"risk.{key}", value, ">= 0")
    _check(
        r.max_rejects_per_minute >= 1,
        "risk.max_rejects_per_minute",
        r.max_rejects_per_minute,
        ">= 1",
    )
    _check(r.task_restarts >= 0, "risk.task_restarts", r.task_restarts, ">= 0")
    _check(bool(e.assets), "engine.assets", e.assets, "at least one asset")
    for asset in e.assets:
        _check(asset.isalnum() and asset.islower(), "engine.assets", asset, "lower-case names")
    _check(e.speed > 0, "engine.speed", e.speed, "> 0")
    if e.duration is not None:
        _check(e.duration > 0, "engine.duration", e.duration, "> 0")
    feed_ok = e.feed in ("sim", "live") or (e.feed.startswith("replay:") and len(e.feed) > 7)
    _check(feed_ok, "engine.feed", e.feed, "sim, live or replay:FILE")
    _check(e.rollover_lead > 0, "engine.rollover_lead", e.rollover_lead, "> 0")
    _check(e.resolution_wait >= 0, "engine.resolution_wait", e.resolution_wait, ">= 0")
    url = settings.store.url
    if url is not None:
        scheme = urlsplit(url).scheme
        _check(
            bool(url) and (scheme in ("", "redis", "rediss", "unix", "sqlite") or len(scheme) == 1),
            "store.url",
            redact_url(url),
            "redis://, rediss://, unix://, sqlite:/// or a file path",
        )
    _check(settings.paper.latency_ms >= 0, "paper.latency_ms", settings.paper.latency_ms, ">= 0")
    # every amount must convert exactly to the core's units
    settings.strategy_params("maker")
    for key in ("daily_loss_limit", "max_capital", "max_unhedged"):
        micros(getattr(r, key), f"risk.{key}")
