"""Settings: a TOML file, `.env`, `GABAGOOL_*` environment variables and flags, validated once.

Precedence, lowest first: defaults, the TOML file, `.env` in the working directory, the
environment, command-line flags. Every key is `section.field`; its environment variable is
`GABAGOOL_SECTION_FIELD` (e.g. `GABAGOOL_STRATEGY_TARGET_PAIR_COST=0.97`). Amounts are written
as a trader reads them (dollars, shares, seconds) and converted exactly to the core's integer
units here; a value that does not convert exactly is refused, never rounded.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from gabagool.types import WINDOW_SECONDS

ENV_PREFIX = "GABAGOOL_"
SECRET_MARK = "***"

# Bounds: what the exchange and the core's integer types allow, and beyond which a value can
# only be a typo. A 15-minute window bounds every cutoff; the core caps a position at 1e8
# shares (its products of cost and quantity must fit 128 bits); orders are sized in 0.01 share.
MAX_SHARES = Decimal(100_000_000)
SIZE_STEP = Decimal("0.01")
MAX_DOLLARS = Decimal(1_000_000_000)
MAX_INTERVAL = Decimal(3600)  # seconds: timers, backoffs, staleness
MAX_DURATION = Decimal(366 * 86_400)
MIN_SPEED = Decimal("0.01")
MAX_SPEED = Decimal(10_000)
MAX_SEED = 2**63 - 1
MAX_COUNT = 1_000_000
MAX_LATENCY_MS = 60_000
MAX_FILE_BYTES = 1_000_000  # a settings file, or .env
MAX_SHIFT = 40  # decimal places a conversion may add: far past every bound above
# names a lock file and a lease key, so it stays a plain word
ENGINE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ConfigError(ValueError):
    """A setting that is unknown, of the wrong type or out of range; the text names the key."""


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class StrategySettings(_Section):
    """DESIGN.md "Strategy rules": prices in dollars, sizes in shares, cutoffs in seconds."""

    mode: Literal["auto", "maker", "taker"] = "auto"  # auto: maker where takers pay fees
    target_pair_cost: Decimal = Decimal("0.97")  # docs/STRATEGY.md: pairs at 0.97 or less
    entry_max_price: Decimal = Decimal("0.60")  # docs/STRATEGY.md: with excess_min_mid
    max_pair_cost: Decimal = Decimal("1.00")
    trade_size: Decimal = Decimal("10")
    min_order_size: Decimal = Decimal("5")
    max_delta: Decimal = Decimal("50")
    hedge_slippage: Decimal = Decimal("0.02")
    liquidity_multiple: int = 3
    open_cutoff: Decimal = Decimal("450")  # docs/STRATEGY.md: late lone legs lose
    quote_cutoff: Decimal = Decimal("10")
    taker_cutoff: Decimal = Decimal("30")
    min_interval: Decimal = Decimal("0.05")  # accumulator throttle between scans
    equalizer_interval: Decimal = Decimal("1")
    # bounds on unpaired risk, checked before buying (docs/STRATEGY.md); 0 = off
    unhedged_cap: Decimal = Decimal("1.5")  # what a window may lose on its unpaired shares
    delta_per_pair_pct: Decimal = Decimal("10")  # |delta| as % of the paired quantity
    skew_ticks_per_clip: int = 0  # heavy side's bid this many ticks lower per clip of delta
    lag_bid_ticks: int = 1  # lagging side's bid up to this many ticks over the best bid
    fee_blind: bool = False  # decide as if no fee were charged (the original rule: baseline)
    mid_rule: bool = False  # buy a side only at or under its book mid minus `mid_edge`
    mid_edge: Decimal = Decimal("0")
    excess_min_mid: Decimal = Decimal("0")  # raise |delta| only on a side whose mid >= this
    # the equalizer's bids (lagging side up to max_pair_cost, priced from the book alone):
    # off by default, they paid 3 cents a share over the true value (docs/STRATEGY.md)
    equalizer: bool = False


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
    # endpoints: settings so tests (and a staging exchange) point them elsewhere
    gamma_url: str = "https://gamma-api.polymarket.com"
    clob_url: str = "https://clob.polymarket.com"
    market_ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
    http_timeout: Decimal = Decimal("10")  # seconds, one request
    discovery_timeout: Decimal = Decimal("25")  # seconds, a whole discovery with its retries
    ping_interval: Decimal = Decimal("10")  # seconds between PINGs once subscribed
    stall_after: Decimal = Decimal("60")  # seconds: a token silent this long (at least) stalled


class ReferenceSettings(_Section):
    """The underlying's price feed and the fair-value model (DESIGN.md "Fair value"); times
    in seconds, volatilities as the s.d. of one-second log returns."""

    source: Literal["auto", "polybolt", "rtds", "off"] = "auto"  # auto: PolyBolt with keys
    polybolt_url: str = "wss://ws-live-v2.polymarket.com/ws"
    rtds_url: str = "wss://ws-live-data.polymarket.com"
    stale_after: Decimal = Decimal("5")  # no update for this long: fair value is stale
    fair_edge: Decimal = Decimal("0.015")  # a gated buy pays at most fair value minus this
    when_stale: Literal["pair_rules", "pause"] = "pair_rules"  # buys without a fresh fair value
    twap_window: Decimal = Decimal("60")  # the settlement TWAP (Gamma twapLookbackSeconds)
    vol_halflife: Decimal = Decimal("60")
    vol_initial: Decimal = Decimal("0.00005")
    vol_floor: Decimal = Decimal("0.00002")
    vol_cap: Decimal = Decimal("0.0005")
    # the share of the fair value taken from the model alone, the rest from the value
    # anchored on the book's mid; [0, 1] in steps of 0.001 (docs/FAIR_VALUE.md)
    model_weight: Decimal = Decimal("0.5")
    connect_timeout: Decimal = Decimal("10")
    reconnect_min: Decimal = Decimal("0.5")
    reconnect_max: Decimal = Decimal("30")
    drain_max_delay: Decimal = Decimal("10")  # PolyBolt 4003: reconnect after 0..this
    rtds_ping_interval: Decimal = Decimal("5")


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
    reference: ReferenceSettings = msgspec.field(default_factory=ReferenceSettings)

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
            "equalizer": s.equalizer,
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
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed (an unclosed IPv6 bracket): hide all before the last '@'
        from gabagool.store.location import redact_url as redact_malformed

        return redact_malformed(url)
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


def _scaled(value: Decimal, places: int, key: str, what: str) -> int:
    """`value * 10**places` exactly, from the decimal's digits: no context, so no rounding."""
    if not value.is_finite():
        raise ConfigError(f"{key}: {value} is not a finite number")
    sign, digits, exponent = value.as_tuple()
    coefficient = int("".join(map(str, digits)))
    shift = int(exponent) + places
    if coefficient == 0:
        return 0
    if shift > MAX_SHIFT:
        raise ConfigError(f"{key}: {value} is too large")
    if shift >= 0:
        scaled = coefficient * 10**shift
    elif -shift > len(digits):
        raise ConfigError(f"{key}: {value} {what}")
    else:
        scaled, rest = divmod(coefficient, 10**-shift)
        if rest:
            raise ConfigError(f"{key}: {value} {what}")
    return -scaled if sign else scaled


def micros(value: Decimal, key: str) -> int:
    """Dollars or shares -> millionths, exactly (ConfigError naming `key` otherwise)."""
    return _scaled(value, 6, key, "has more than 6 decimal places")


def millis(seconds: Decimal, key: str) -> int:
    return _scaled(seconds, 3, key, "is finer than a millisecond")


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


def _read_text(path: Path, what: str) -> str:
    try:
        with path.expanduser().open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # /dev/zero must not eat the memory
        if len(data) > MAX_FILE_BYTES:
            raise ConfigError(f"{what} {path}: larger than {MAX_FILE_BYTES} bytes")
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{what} {path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{what} {path}: {exc.strerror or exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    text = _read_text(path, "config file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config file {path}: nested too deeply") from None


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (optionally quoted); comments and blank lines skipped."""
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for number, raw in enumerate(_read_text(path, "env file").splitlines(), 1):
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
        raw = _read_toml(Path(path))
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


def _at_most(section: Any, name: str, key: str, high: Decimal | int, why: str) -> None:
    value = getattr(section, name)
    _check(value <= high, key, value, f"<= {high} ({why})")


def _finite(settings: Settings) -> None:
    """NaN and infinities are refused before any comparison (a NaN compares as an error)."""
    for section in msgspec.structs.fields(Settings):
        values = getattr(settings, section.name)
        for field in msgspec.structs.fields(values):
            value = getattr(values, field.name)
            if isinstance(value, Decimal) and not value.is_finite():
                raise ConfigError(f"{section.name}.{field.name}: {value} is not a finite number")


def validate(settings: Settings) -> None:
    """Ranges and relations between settings; the first violation, as one line."""
    _finite(settings)
    s, r, e = settings.strategy, settings.risk, settings.engine
    for key in ("target_pair_cost", "entry_max_price", "hedge_slippage"):
        value = getattr(s, key)
        _check(0 < value < 1, f"strategy.{key}", value, "0 < value < 1")
    # above 1: pairing a lone leg at a small loss beats holding it to a likely total loss
    _check(
        0 < s.max_pair_cost <= Decimal("1.1"), "strategy.max_pair_cost", s.max_pair_cost, "(0, 1.1]"
    )
    _check(
        s.max_pair_cost >= s.target_pair_cost,
        "strategy.max_pair_cost",
        s.max_pair_cost,
        f">= strategy.target_pair_cost ({s.target_pair_cost})",
    )
    for key in ("trade_size", "min_order_size", "max_delta"):
        value = getattr(s, key)
        _check(value > 0, f"strategy.{key}", value, "> 0")
        _at_most(s, key, f"strategy.{key}", MAX_SHARES, "shares, the core's position limit")
    for key in ("trade_size", "min_order_size"):
        value = getattr(s, key)
        _check(
            value % SIZE_STEP == 0,
            f"strategy.{key}",
            value,
            f"a multiple of {SIZE_STEP} share (the exchange's size step)",
        )
    _check(
        s.trade_size >= s.min_order_size,
        "strategy.trade_size",
        s.trade_size,
        f">= strategy.min_order_size ({s.min_order_size})",
    )
    _check(s.liquidity_multiple >= 0, "strategy.liquidity_multiple", s.liquidity_multiple, ">= 0")
    _at_most(s, "liquidity_multiple", "strategy.liquidity_multiple", 1000, "the core's limit")
    for key in ("open_cutoff", "quote_cutoff", "taker_cutoff", "min_interval"):
        value = getattr(s, key)
        _check(value >= 0, f"strategy.{key}", value, ">= 0")
    for key in ("open_cutoff", "quote_cutoff", "taker_cutoff"):
        _at_most(s, key, f"strategy.{key}", WINDOW_SECONDS, "seconds, a window's length")
    _at_most(s, "min_interval", "strategy.min_interval", MAX_INTERVAL, "seconds")
    _check(s.equalizer_interval > 0, "strategy.equalizer_interval", s.equalizer_interval, "> 0")
    _at_most(s, "equalizer_interval", "strategy.equalizer_interval", MAX_INTERVAL, "seconds")
    _check(
        0 <= s.unhedged_cap <= MAX_DOLLARS, "strategy.unhedged_cap", s.unhedged_cap,
        f"[0, {MAX_DOLLARS}]",
    )
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
        _at_most(r, key, f"risk.{key}", MAX_INTERVAL, "seconds")
    for key in ("daily_loss_limit", "max_capital", "max_unhedged", "reject_backoff"):
        value = getattr(r, key)
        _check(value >= 0, f"risk.{key}", value, ">= 0")
    for key in ("daily_loss_limit", "max_capital"):
        _at_most(r, key, f"risk.{key}", MAX_DOLLARS, "dollars")
    _at_most(r, "max_unhedged", "risk.max_unhedged", MAX_SHARES, "shares, the core's limit")
    _at_most(r, "reject_backoff", "risk.reject_backoff", MAX_INTERVAL, "seconds")
    _check(
        r.max_rejects_per_minute >= 1,
        "risk.max_rejects_per_minute",
        r.max_rejects_per_minute,
        ">= 1",
    )
    _at_most(r, "max_rejects_per_minute", "risk.max_rejects_per_minute", MAX_COUNT, "a count")
    _check(r.task_restarts >= 0, "risk.task_restarts", r.task_restarts, ">= 0")
    _at_most(r, "task_restarts", "risk.task_restarts", MAX_COUNT, "a count")
    _check(bool(e.assets), "engine.assets", e.assets, "at least one asset")
    for asset in e.assets:
        _check(asset.isalnum() and asset.islower(), "engine.assets", asset, "lower-case names")
        _check(asset.isascii() and len(asset) <= 16, "engine.assets", asset, "short ASCII names")
    repeated = sorted({asset for asset in e.assets if e.assets.count(asset) > 1})
    if repeated:
        raise ConfigError(f"engine.assets: {', '.join(repeated)} named more than once")
    _check(e.speed >= MIN_SPEED, "engine.speed", e.speed, f">= {MIN_SPEED}")
    _at_most(e, "speed", "engine.speed", MAX_SPEED, "market seconds per real second")
    if e.duration is not None:
        _check(e.duration > 0, "engine.duration", e.duration, "> 0")
        _at_most(e, "duration", "engine.duration", MAX_DURATION, "seconds, a year")
        millis(e.duration, "engine.duration")
    feed_ok = e.feed in ("sim", "live") or (e.feed.startswith("replay:") and len(e.feed) > 7)
    _check(feed_ok, "engine.feed", e.feed, "sim, live or replay:FILE")
    _check(0 <= e.seed <= MAX_SEED, "engine.seed", e.seed, f"[0, {MAX_SEED}]")
    _check(e.rollover_lead > 0, "engine.rollover_lead", e.rollover_lead, "> 0")
    _check(
        e.rollover_lead < WINDOW_SECONDS,
        "engine.rollover_lead",
        e.rollover_lead,
        f"< {WINDOW_SECONDS} (seconds, a window's length)",
    )
    _check(e.resolution_wait >= 0, "engine.resolution_wait", e.resolution_wait, ">= 0")
    _at_most(e, "resolution_wait", "engine.resolution_wait", MAX_INTERVAL, "seconds")
    _check(bool(e.data_dir.strip()), "engine.data_dir", repr(e.data_dir), "a directory")
    if e.summary_json is not None:
        _check(bool(e.summary_json.strip()), "engine.summary_json", repr(e.summary_json), "a path")
    url = settings.store.url
    if url is not None:
        from gabagool.store.base import StoreError
        from gabagool.store.location import parse_location

        scheme, sep, _ = url.partition(":")
        scheme = scheme.lower() if sep and scheme.isascii() and scheme.isalpha() else ""
        _check(
            scheme in ("", "redis", "rediss", "unix", "sqlite") or len(scheme) == 1,
            "store.url",
            redact_url(url),
            "redis://, rediss://, unix://, sqlite:/// or a file path",
        )
        try:
            parse_location(url)
        except StoreError as exc:
            raise ConfigError(f"store.url: {exc}") from None
    engine_id = settings.store.engine_id
    if engine_id is not None:
        _check(
            ENGINE_ID.fullmatch(engine_id) is not None,
            "store.engine_id",
            repr(engine_id),
            "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    latency = settings.paper.latency_ms
    _check(0 <= latency <= MAX_LATENCY_MS, "paper.latency_ms", latency, f"[0, {MAX_LATENCY_MS}]")
    validate_reference(settings.reference)
    signature_type = settings.polymarket.signature_type
    _check(signature_type in (0, 1, 2, 3), "polymarket.signature_type", signature_type, "0-3")
    # every amount must convert exactly to the core's units, and the core must accept them
    params = settings.strategy_params("maker")
    from gabagool._core import StrategyParams
    from gabagool.errors import ParamsError

    try:
        StrategyParams(**params)
    except (ParamsError, OverflowError) as exc:
        raise ConfigError(f"strategy: {exc}") from None
    for key in ("daily_loss_limit", "max_capital", "max_unhedged"):
        micros(getattr(r, key), f"risk.{key}")


def validate_reference(ref: ReferenceSettings) -> None:
    for key in ("stale_after", "vol_halflife", "connect_timeout", "reconnect_min",
                "rtds_ping_interval"):
        value = getattr(ref, key)
        _check(0 < value <= MAX_INTERVAL, f"reference.{key}", value, f"(0, {MAX_INTERVAL}]")
    for key in ("reconnect_max", "drain_max_delay"):
        value = getattr(ref, key)
        _check(value <= MAX_INTERVAL, f"reference.{key}", value, f"<= {MAX_INTERVAL}")
    for key in ("twap_window", "drain_max_delay"):
        _check(getattr(ref, key) >= 0, f"reference.{key}", getattr(ref, key), ">= 0")
    _check(0 <= ref.fair_edge < 1, "reference.fair_edge", ref.fair_edge, "[0, 1)")
    micros(ref.fair_edge, "reference.fair_edge")
    _check(ref.twap_window <= 3600, "reference.twap_window", ref.twap_window, "<= 3600")
    _check(ref.reconnect_max >= ref.reconnect_min, "reference.reconnect_max", ref.reconnect_max,
           f">= reference.reconnect_min ({ref.reconnect_min})")
    _check(0 < ref.vol_floor <= ref.vol_initial <= ref.vol_cap < 1, "reference.vol_initial",
           ref.vol_initial, "0 < vol_floor <= vol_initial <= vol_cap < 1")
    for key in ("vol_floor", "vol_initial", "vol_cap"):
        value = getattr(ref, key) * 1_000_000_000
        _check(value == value.to_integral_value(), f"reference.{key}", getattr(ref, key),
               "at most 9 decimal places")
    for key in ("stale_after", "twap_window", "vol_halflife"):
        millis(getattr(ref, key), f"reference.{key}")
    weight = ref.model_weight
    _check(0 <= weight <= 1, "reference.model_weight", weight, "[0, 1]")
    _check(weight * 1000 == (weight * 1000).to_integral_value(), "reference.model_weight",
           weight, "at most 3 decimal places")
