"""The Redis journal: the same records under `gabagool:*` keys, shared by several engines.

Every read-modify-write (a fill onto a position, a settlement, a capital reservation) is an
optimistic transaction: WATCH the keys, read, compute in Python, MULTI/EXEC the writes, and
start again if another client touched a watched key meanwhile. Amounts are decimal strings
computed in Python, never HINCRBY: Redis integers stop at 2**63 and exact money must not wrap.

A write returns once Redis acknowledged the EXEC; how durable that is on the server is its
`appendonly`/`appendfsync` setting (`appendfsync always` for a journal that survives power
loss; see benches/bench_store.py for what it costs).

Keys (`P` is the prefix, `gabagool` unless a test chooses another):
  P:schema                      layout version (1 -> 2 added fields with defaults to the
                                JSON records: a version-1 journal is read as is and marked 2)
  P:window:{id}                 WindowRecord JSON;   P:windows_all, P:windows_open  id sets
  P:order:{id}                  OrderRecord JSON;    P:orders_all, P:orders_resting id sets,
  P:window_orders:{window}      the window's order ids
  P:fill:["trade_id","order_id"] the fill's window id: marks it journaled, once
  P:fills:{window}              hash ["trade_id","order_id"] -> FillRecord JSON (a reversed
                                fill stays, marked, and counts for nothing)
  P:fill_seq:{window}           list of those keys in journal order
  P:position:{window}           hash of the position's sums
  P:halt                        HaltState JSON
  P:reserve:{ledger}            hash holder -> reserved pico-dollars;  P:ledgers  ledger set
  P:lease:{engine id}           a live engine's lease (gabagool.store.lock), with a TTL
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import msgspec
import redis
from redis.client import Pipeline

from gabagool.store.base import (
    DEFAULT_LEDGER,
    RESTING_ORDER_STATUSES,
    FillRecord,
    HaltState,
    JournalBase,
    OpenSource,
    OrderRecord,
    OrderStatus,
    Outcome,
    PositionSnapshot,
    ResolutionRecord,
    SchemaError,
    StoreConflictError,
    StoreError,
    StoreUnavailable,
    StoreWriteError,
    WindowRecord,
    fold_fills,
    settle,
    updated_order,
    validate_fill,
    validate_order,
    validate_reservation,
    validate_window,
    with_resolution,
    with_window_open,
)
from gabagool.store.location import redact_url

SCHEMA_VERSION = 2
# Layouts this code upgrades in place on open. 1 -> 2: an order's venue id, a fill's
# reversal, a window's open and resolution check, all fields with defaults in the JSON
# records, so the upgrade only marks the journal (an older gabagool then refuses it rather
# than rewrite records without those fields).
UPGRADABLE = frozenset({1})
LEASE_KEY = "lease"
DEFAULT_PREFIX = "gabagool"
MAX_ATTEMPTS = 200
CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 10.0

P = ParamSpec("P")
T = TypeVar("T")
Writes = Callable[[Pipeline], None]

_encode = msgspec.json.Encoder().encode
_POSITION_FIELDS = (
    ("qty_up", "qty_up_micros"),
    ("qty_down", "qty_down_micros"),
    ("cost_up", "cost_up_pico"),
    ("cost_down", "cost_down_pico"),
    ("fees", "fees_micros"),
    ("fills", "fill_count"),
)


def _escape_glob(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _position(window_id: str, fields: Mapping[Any, Any]) -> PositionSnapshot:
    values = {name: int(fields.get(short.encode(), b"0")) for short, name in _POSITION_FIELDS}
    return PositionSnapshot(window_id=window_id, **values)


def _position_mapping(position: PositionSnapshot) -> dict[Any, Any]:
    return {short: str(getattr(position, name)) for short, name in _POSITION_FIELDS}


# Replies by which a server refuses a write it cannot keep: out of memory, a replica, failing
# to persist, too few replicas. The MULTI/EXEC that carried it applied nothing.
_WRITE_REFUSAL_TYPES = (
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.ExecAbortError,
)
_WRITE_REFUSALS = ("OOM", "READONLY", "MISCONF", "NOREPLICAS", "EXECABORT", "maxmemory")


def _translate_errors(method: Callable[P, T]) -> Callable[P, T]:
    """Every Redis failure surfaces as one StoreError subclass naming the server (password
    hidden): StoreUnavailable when it cannot be reached or is not a Redis server,
    StoreWriteError when it refused to keep a write, StoreError for a malformed stored value."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        where = args[0].url_redacted  # type: ignore[attr-defined]
        try:
            return method(*args, **kwargs)
        except StoreError:
            raise
        except redis.exceptions.AuthenticationError as exc:
            raise StoreUnavailable(f"redis at {where} refused the credentials: {exc}") from exc
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise StoreUnavailable(f"redis at {where} unreachable: {exc}") from exc
        except redis.exceptions.ResponseError as exc:
            text = str(exc)
            if isinstance(exc, _WRITE_REFUSAL_TYPES) or any(r in text for r in _WRITE_REFUSALS):
                raise StoreWriteError(
                    f"redis at {where} refused a write, nothing of it was kept: {text}"
                ) from exc
            if text.startswith(("NOAUTH", "NOPERM", "WRONGPASS")):
                raise StoreUnavailable(f"redis at {where} refused access: {text}") from exc
            raise StoreError(f"redis at {where} answered an error: {text}") from exc
        except redis.exceptions.RedisError as exc:
            # a garbled reply: whatever listens there does not speak the Redis protocol
            raise StoreUnavailable(
                f"redis at {where}: not a usable Redis server ({type(exc).__name__}: {exc})"
            ) from exc
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            raise StoreError(f"redis journal at {where} holds a malformed value: {exc}") from exc

    return wrapper


class RedisJournal(JournalBase):
    """The shared journal on a Redis server named by `redis://`, `rediss://` or `unix://` URL.

    The URL carries the password (`redis://:secret@host:6379/0`) and the TLS options
    (`rediss://host:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/path/ca.pem`), as redis-py
    reads them. The client's connection pool is thread-safe: calls may come from any thread.
    """

    backend = "redis"

    def __init__(
        self, url: str, *, prefix: str = DEFAULT_PREFIX, max_attempts: int = MAX_ATTEMPTS
    ) -> None:
        self.url_redacted = redact_url(url)
        self.prefix = prefix
        self.max_attempts = max_attempts
        try:
            self._client = redis.Redis.from_url(
                url,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=SOCKET_TIMEOUT_S,
                health_check_interval=30,
            )
        except (ValueError, TypeError, redis.exceptions.RedisError) as exc:
            raise StoreError(f"bad redis URL {self.url_redacted}: {exc}") from exc
        try:
            self._check_schema()
        except BaseException:
            self._client.close()
            raise

    @property
    def client(self) -> redis.Redis:
        return self._client

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    @_translate_errors
    def _check_schema(self) -> None:
        schema_key = self._k("schema")
        if self._client.set(schema_key, SCHEMA_VERSION, nx=True):
            stray = [k for k in self._scan_keys() if k != schema_key.encode()]
            if stray:
                self._client.delete(schema_key)
                raise SchemaError(
                    f"redis at {self.url_redacted} holds {len(stray)} {self.prefix}:* keys but "
                    f"no {schema_key}: not a gabagool journal, refusing to use it"
                )
            return
        raw = self._client.get(schema_key) or b"0"
        try:
            version = int(raw)
        except ValueError:
            raise SchemaError(
                f"redis at {self.url_redacted}: {schema_key} is {raw[:40]!r}, not a layout "
                "version: not a gabagool journal, refusing to use it"
            ) from None
        if version in UPGRADABLE:
            self._upgrade(schema_key, version)
            return
        if version != SCHEMA_VERSION:
            raise SchemaError(
                f"redis journal at {self.url_redacted} has layout version {version}, this "
                f"gabagool knows {SCHEMA_VERSION}: "
                + ("upgrade gabagool" if version > SCHEMA_VERSION else "unknown version")
            )

    def _upgrade(self, schema_key: str, version: int) -> None:
        def body(pipe: Pipeline) -> tuple[None, Writes | None]:
            if int(pipe.get(schema_key) or 0) != version:
                return None, None  # another engine upgraded it meanwhile

            def writes(tx: Pipeline) -> None:
                tx.set(schema_key, SCHEMA_VERSION)

            return None, writes

        self._transact([schema_key], body)

    def _scan_keys(self) -> list[bytes]:
        pattern = _escape_glob(self.prefix) + ":*"
        return list(self._client.scan_iter(match=pattern, count=1000))

    def _transact(self, watch: list[str], body: Callable[[Pipeline], tuple[T, Writes | None]]) -> T:
        """Run `body` against WATCHed keys and commit its writes, retrying on a conflict.

        `body` reads through the pipe (immediate mode) and returns its result and the writes
        to queue inside MULTI, or None to commit nothing.
        """
        for attempt in range(self.max_attempts):
            with self._client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(*watch)  # type: ignore[no-untyped-call]
                    result, writes = body(pipe)
                    if writes is None:
                        pipe.unwatch()
                        return result
                    pipe.multi()
                    writes(pipe)
                    pipe.execute()
                    return result
                except redis.exceptions.WatchError:
                    # Another engine won the race: back off a little, with jitter, and redo.
                    time.sleep(random.uniform(0, min(0.0005 * 2**attempt, 0.02)))
        raise StoreConflictError(
            f"gave up on keys {watch} after {self.max_attempts} conflicting attempts"
        )

    @_translate_errors
    def schema_version(self) -> int:
        return int(self._client.get(self._k("schema")) or 0)

    def close(self) -> None:
        self._client.close()

    # ---- windows -----------------------------------------------------------------------

    @_translate_errors
    def record_window_opened(self, window: WindowRecord) -> bool:
        validate_window(window)
        key = self._k("window", window.window_id)

        def body(pipe: Pipeline) -> tuple[bool, Writes | None]:
            if pipe.exists(key):
                return False, None

            def writes(tx: Pipeline) -> None:
                tx.set(key, _encode(window))
                tx.sadd(self._k("windows_all"), window.window_id)
                tx.sadd(self._k("windows_open"), window.window_id)

            return True, writes

        return self._transact([key], body)

    @_translate_errors
    def record_window_settled(
        self, window_id: str, winner: Outcome, settled_ns: int
    ) -> WindowRecord:
        key = self._k("window", window_id)
        position_key = self._k("position", window_id)

        def body(pipe: Pipeline) -> tuple[WindowRecord, Writes | None]:
            raw = pipe.get(key)
            if raw is None:
                raise StoreError(f"cannot settle window {window_id!r}: never opened")
            window = msgspec.json.decode(raw, type=WindowRecord)
            settled = settle(
                window, _position(window_id, pipe.hgetall(position_key)), winner, settled_ns
            )
            if settled is window:
                return window, None

            def writes(tx: Pipeline) -> None:
                tx.set(key, _encode(settled))
                tx.srem(self._k("windows_open"), window_id)

            return settled, writes

        return self._transact([key, position_key], body)

    def _amend_window(
        self, window_id: str, what: str, amend: Callable[[WindowRecord], WindowRecord | None]
    ) -> bool:
        key = self._k("window", window_id)

        def body(pipe: Pipeline) -> tuple[bool, Writes | None]:
            raw = pipe.get(key)
            if raw is None:
                raise StoreError(f"cannot record the {what} of window {window_id!r}: never opened")
            updated = amend(msgspec.json.decode(raw, type=WindowRecord))
            if updated is None:
                return False, None

            def writes(tx: Pipeline) -> None:
                tx.set(key, _encode(updated))

            return True, writes

        return self._transact([key], body)

    @_translate_errors
    def record_window_open(
        self, window_id: str, open_atto: int, source: OpenSource, at_ns: int
    ) -> bool:
        return self._amend_window(
            window_id, "open", lambda w: with_window_open(w, open_atto, source, at_ns)
        )

    @_translate_errors
    def record_resolution(self, window_id: str, check: ResolutionRecord) -> bool:
        return self._amend_window(window_id, "resolution", lambda w: with_resolution(w, check))

    @_translate_errors
    def window(self, window_id: str) -> WindowRecord | None:
        raw = self._client.get(self._k("window", window_id))
        return None if raw is None else msgspec.json.decode(raw, type=WindowRecord)

    def _windows_in(self, set_name: str) -> list[WindowRecord]:
        ids = sorted(_text(i) for i in self._client.smembers(self._k(set_name)))
        if not ids:
            return []
        raws = self._client.mget([self._k("window", i) for i in ids])
        windows = [msgspec.json.decode(raw, type=WindowRecord) for raw in raws if raw is not None]
        return sorted(windows, key=lambda w: (w.start_s, w.window_id))

    @_translate_errors
    def windows(self) -> list[WindowRecord]:
        return self._windows_in("windows_all")

    @_translate_errors
    def open_windows(self) -> list[WindowRecord]:
        return self._windows_in("windows_open")

    # ---- orders ------------------------------------------------------------------------

    @_translate_errors
    def record_order(self, order: OrderRecord) -> bool:
        validate_order(order)
        key = self._k("order", order.order_id)

        def body(pipe: Pipeline) -> tuple[bool, Writes | None]:
            if not pipe.exists(self._k("window", order.window_id)):
                raise StoreError(
                    f"order {order.order_id!r} names window {order.window_id!r}, never opened"
                )
            if pipe.exists(key):
                return False, None

            def writes(tx: Pipeline) -> None:
                tx.set(key, _encode(order))
                tx.sadd(self._k("orders_all"), order.order_id)
                tx.sadd(self._k("window_orders", order.window_id), order.order_id)
                if order.status in RESTING_ORDER_STATUSES:
                    tx.sadd(self._k("orders_resting"), order.order_id)

            return True, writes

        return self._transact([key], body)

    @_translate_errors
    def update_order(
        self,
        order_id: str,
        status: OrderStatus,
        updated_ns: int,
        reason: str = "",
        venue_id: str | None = None,
    ) -> OrderRecord:
        key = self._k("order", order_id)

        def body(pipe: Pipeline) -> tuple[OrderRecord, Writes | None]:
            raw = pipe.get(key)
            if raw is None:
                raise StoreError(f"cannot update order {order_id!r}: never journaled")
            updated = updated_order(
                msgspec.json.decode(raw, type=OrderRecord), status, updated_ns, reason, venue_id
            )

            def writes(tx: Pipeline) -> None:
                tx.set(key, _encode(updated))
                if status in RESTING_ORDER_STATUSES:
                    tx.sadd(self._k("orders_resting"), order_id)
                else:
                    tx.srem(self._k("orders_resting"), order_id)

            return updated, writes

        return self._transact([key], body)

    @_translate_errors
    def order(self, order_id: str) -> OrderRecord | None:
        raw = self._client.get(self._k("order", order_id))
        return None if raw is None else msgspec.json.decode(raw, type=OrderRecord)

    def _orders_in(self, set_key: str) -> list[OrderRecord]:
        ids = sorted(_text(i) for i in self._client.smembers(set_key))
        if not ids:
            return []
        raws = self._client.mget([self._k("order", i) for i in ids])
        orders = [msgspec.json.decode(raw, type=OrderRecord) for raw in raws if raw is not None]
        return sorted(orders, key=lambda o: (o.created_ns, o.order_id))

    @_translate_errors
    def orders(self, window_id: str | None = None) -> list[OrderRecord]:
        if window_id is None:
            return self._orders_in(self._k("orders_all"))
        return self._orders_in(self._k("window_orders", window_id))

    @_translate_errors
    def resting_orders(self, window_id: str | None = None) -> list[OrderRecord]:
        resting = self._orders_in(self._k("orders_resting"))
        return [o for o in resting if window_id is None or o.window_id == window_id]

    # ---- fills and positions -----------------------------------------------------------

    @_translate_errors
    def record_fill(self, fill: FillRecord) -> bool:
        validate_fill(fill)
        fills_key = self._k("fills", fill.window_id)
        position_key = self._k("position", fill.window_id)
        field = _encode([fill.trade_id, fill.order_id])
        # One marker key per fill, whatever its window: WATCHing it (not a shared hash) keeps
        # writers of different fills out of each other's way.
        marker_key = self._k("fill", field.decode())

        def body(pipe: Pipeline) -> tuple[bool, Writes | None]:
            if not pipe.exists(self._k("window", fill.window_id)):
                raise StoreError(f"fill {fill.key} names window {fill.window_id!r}, never opened")
            if pipe.exists(marker_key):
                return False, None
            position = _position(fill.window_id, pipe.hgetall(position_key)).with_fill(fill)

            def writes(tx: Pipeline) -> None:
                tx.set(marker_key, fill.window_id)
                tx.hset(fills_key, field, _encode(fill))
                tx.rpush(self._k("fill_seq", fill.window_id), field)
                tx.hset(position_key, mapping=_position_mapping(position))

            return True, writes

        return self._transact([marker_key, position_key], body)

    @_translate_errors
    def record_fill_reversal(
        self, window_id: str, key: tuple[str, str], reversed_ns: int, reason: str = ""
    ) -> bool:
        fills_key = self._k("fills", window_id)
        position_key = self._k("position", window_id)
        field = _encode(list(key))
        marker_key = self._k("fill", field.decode())

        def body(pipe: Pipeline) -> tuple[bool, Writes | None]:
            raw = pipe.hget(fills_key, field)
            if raw is None:
                return False, None  # never journaled (or of another window)
            fill = msgspec.json.decode(raw, type=FillRecord)
            if not fill.stands:
                return False, None
            reversed_fill = msgspec.structs.replace(
                fill, reversed_ns=reversed_ns, reversal=reason
            )
            # the position is the sum of what stands: fold it again, as recovery checks it
            fields = pipe.lrange(self._k("fill_seq", window_id), 0, -1)
            raws = pipe.hmget(fills_key, fields) if fields else []
            others = [msgspec.json.decode(r, type=FillRecord) for r in raws if r is not None]
            position = fold_fills(window_id, (f for f in others if f.key != fill.key))

            def writes(tx: Pipeline) -> None:
                tx.hset(fills_key, field, _encode(reversed_fill))
                tx.delete(position_key)
                tx.hset(position_key, mapping=_position_mapping(position))

            return True, writes

        # the marker and the position are what every writer of this fill or window watches
        return self._transact([marker_key, position_key], body)

    @_translate_errors
    def fills(self, window_id: str) -> list[FillRecord]:
        fields = self._client.lrange(self._k("fill_seq", window_id), 0, -1)
        if not fields:
            return []
        raws = self._client.hmget(self._k("fills", window_id), fields)
        return [msgspec.json.decode(raw, type=FillRecord) for raw in raws if raw is not None]

    @_translate_errors
    def position_snapshot(self, window_id: str) -> PositionSnapshot:
        return _position(window_id, self._client.hgetall(self._k("position", window_id)))

    @_translate_errors
    def positions(self) -> list[PositionSnapshot]:
        ids = sorted(_text(i) for i in self._client.smembers(self._k("windows_all")))
        with self._client.pipeline(transaction=False) as pipe:
            for window_id in ids:
                pipe.hgetall(self._k("position", window_id))
            rows = pipe.execute()
        return [_position(wid, row) for wid, row in zip(ids, rows, strict=True) if row]

    # ---- halt flag ---------------------------------------------------------------------

    @_translate_errors
    def set_halt(self, halted: bool, reason: str, set_by: str, at_ns: int) -> HaltState:
        state = HaltState(halted=halted, reason=reason, set_by=set_by, at_ns=at_ns)
        self._client.set(self._k("halt"), _encode(state))
        return state

    @_translate_errors
    def get_halt(self) -> HaltState:
        raw = self._client.get(self._k("halt"))
        return HaltState() if raw is None else msgspec.json.decode(raw, type=HaltState)

    # ---- portfolio caps ----------------------------------------------------------------

    @_translate_errors
    def reserve_capital(
        self, holder: str, amount_pico: int, cap_pico: int, ledger: str = DEFAULT_LEDGER
    ) -> bool:
        validate_reservation(ledger, holder, amount_pico)
        key = self._k("reserve", ledger)

        def body(pipe: Pipeline) -> tuple[bool, Writes | None]:
            held = {h: int(a) for h, a in pipe.hgetall(key).items()}
            if sum(held.values()) + amount_pico > cap_pico:
                return False, None
            new_amount = held.get(holder.encode(), 0) + amount_pico

            def writes(tx: Pipeline) -> None:
                tx.hset(key, holder, str(new_amount))
                tx.sadd(self._k("ledgers"), ledger)

            return True, writes

        return self._transact([key], body)

    @_translate_errors
    def release_capital(
        self, holder: str, amount_pico: int | None = None, ledger: str = DEFAULT_LEDGER
    ) -> int:
        validate_reservation(ledger, holder, amount_pico or 0)
        key = self._k("reserve", ledger)

        def body(pipe: Pipeline) -> tuple[int, Writes | None]:
            held = int(pipe.hget(key, holder) or 0)
            released = held if amount_pico is None else min(amount_pico, held)
            if released == 0:
                return 0, None

            def writes(tx: Pipeline) -> None:
                if held == released:
                    tx.hdel(key, holder)
                else:
                    tx.hset(key, holder, str(held - released))

            return released, writes

        return self._transact([key], body)

    @_translate_errors
    def reservations(self, ledger: str = DEFAULT_LEDGER) -> dict[str, int]:
        held = self._client.hgetall(self._k("reserve", ledger))
        return {_text(h): int(a) for h, a in sorted(held.items())}

    @_translate_errors
    def ledgers(self) -> list[str]:
        names = sorted(_text(n) for n in self._client.smembers(self._k("ledgers")))
        return [n for n in names if self._client.exists(self._k("reserve", n))]

    # ---- whole journal -----------------------------------------------------------------

    @_translate_errors
    def clear(self) -> None:
        schema_key = self._k("schema").encode()
        # the engines' leases say who is live, not what was traded: they outlive a clear
        lease_prefix = self._k(LEASE_KEY, "").encode()
        doomed = [
            k for k in self._scan_keys() if k != schema_key and not k.startswith(lease_prefix)
        ]
        for start in range(0, len(doomed), 500):
            self._client.delete(*doomed[start : start + 500])

