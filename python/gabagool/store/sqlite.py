"""The SQLite journal: one file under the data dir, WAL, every write committed with fsync.

`synchronous=FULL` in WAL mode fsyncs the log on each commit, so a fill that `record_fill`
returned for survives a power cut, not only a crash of the process. Pico-dollar amounts are
stored as decimal text: SQLite integers stop at 2**63, and exact money must not wrap.
Several processes on one host may share the file; writers take the lock up front
(`BEGIN IMMEDIATE`) so a read-modify-write never races.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

import msgspec

from gabagool.store.base import (
    DEFAULT_LEDGER,
    RESTING_ORDER_STATUSES,
    FillRecord,
    HaltState,
    JournalBase,
    JournalNotFound,
    OpenSource,
    OrderRecord,
    OrderStatus,
    Outcome,
    PositionSnapshot,
    ResolutionRecord,
    SchemaError,
    StoreError,
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
from gabagool.store.location import JOURNAL_FILENAME

# Migrations, in order: index i brings a journal from version i to i + 1. Append, never edit:
# journals in the field are at every version that was ever released.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE windows (
        window_id   TEXT PRIMARY KEY,
        asset       TEXT NOT NULL,
        up_token    TEXT NOT NULL,
        down_token  TEXT NOT NULL,
        start_s     INTEGER NOT NULL,
        end_s       INTEGER NOT NULL,
        opened_ns   INTEGER NOT NULL,
        market_id   TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('open', 'settled')),
        winner      TEXT CHECK (winner IN ('up', 'down')),
        settled_ns  INTEGER,
        payout_pico TEXT,
        pnl_pico    TEXT
    );
    CREATE TABLE orders (
        order_id     TEXT PRIMARY KEY,
        window_id    TEXT NOT NULL REFERENCES windows (window_id),
        outcome      TEXT NOT NULL,
        side         TEXT NOT NULL,
        price_micros INTEGER NOT NULL,
        size_micros  INTEGER NOT NULL,
        order_type   TEXT NOT NULL,
        post_only    INTEGER NOT NULL,
        status       TEXT NOT NULL,
        created_ns   INTEGER NOT NULL,
        updated_ns   INTEGER NOT NULL,
        reason       TEXT NOT NULL
    );
    CREATE INDEX orders_by_window ON orders (window_id);
    CREATE INDEX orders_by_status ON orders (status);
    CREATE TABLE fills (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        trade_id     TEXT NOT NULL,
        order_id     TEXT NOT NULL,
        window_id    TEXT NOT NULL REFERENCES windows (window_id),
        outcome      TEXT NOT NULL,
        side         TEXT NOT NULL,
        price_micros INTEGER NOT NULL,
        size_micros  INTEGER NOT NULL,
        fee_micros   INTEGER NOT NULL,
        liquidity    TEXT NOT NULL,
        ts_ns        INTEGER NOT NULL,
        UNIQUE (trade_id, order_id)
    );
    CREATE INDEX fills_by_window ON fills (window_id, seq);
    CREATE TABLE positions (
        window_id       TEXT PRIMARY KEY REFERENCES windows (window_id),
        qty_up_micros   INTEGER NOT NULL,
        qty_down_micros INTEGER NOT NULL,
        cost_up_pico    TEXT NOT NULL,
        cost_down_pico  TEXT NOT NULL,
        fees_micros     INTEGER NOT NULL,
        fill_count      INTEGER NOT NULL
    );
    CREATE TABLE halt (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        halted  INTEGER NOT NULL,
        reason  TEXT NOT NULL,
        set_by  TEXT NOT NULL,
        at_ns   INTEGER NOT NULL
    );
    CREATE TABLE reservations (
        ledger      TEXT NOT NULL,
        holder      TEXT NOT NULL,
        amount_pico TEXT NOT NULL,
        PRIMARY KEY (ledger, holder)
    );
    """,
    # 2: the exchange's id of an order; a fill the exchange reversed, kept and marked; a
    # window's opening reference price and its resolution check (atto-dollars as text)
    """
    ALTER TABLE orders ADD COLUMN venue_id TEXT NOT NULL DEFAULT '';
    CREATE INDEX orders_by_venue_id ON orders (venue_id);
    ALTER TABLE fills ADD COLUMN reversed_ns INTEGER;
    ALTER TABLE fills ADD COLUMN reversal TEXT NOT NULL DEFAULT '';
    ALTER TABLE windows ADD COLUMN open_atto TEXT;
    ALTER TABLE windows ADD COLUMN open_source TEXT
        CHECK (open_source IN ('priceToBeat', 'reference'));
    ALTER TABLE windows ADD COLUMN open_ns INTEGER;
    ALTER TABLE windows ADD COLUMN res_ns INTEGER;
    ALTER TABLE windows ADD COLUMN res_ours TEXT CHECK (res_ours IN ('up', 'down'));
    ALTER TABLE windows ADD COLUMN res_exchange TEXT CHECK (res_exchange IN ('up', 'down'));
    ALTER TABLE windows ADD COLUMN res_settlement_atto TEXT;
    ALTER TABLE windows ADD COLUMN res_open_atto TEXT
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
__all__ = ["JOURNAL_FILENAME", "MIGRATIONS", "SCHEMA_VERSION", "SqliteJournal"]
BUSY_TIMEOUT_MS = 10_000

_WINDOW_COLUMNS = (
    "window_id, asset, up_token, down_token, start_s, end_s, opened_ns, market_id, status, "
    "winner, settled_ns, payout_pico, pnl_pico, open_atto, open_source, open_ns, res_ns, "
    "res_ours, res_exchange, res_settlement_atto, res_open_atto"
)
_WINDOW_BASE_COLUMNS = 13  # the record's own fields; the rest are the open and the check
_ORDER_COLUMNS = (
    "order_id, window_id, outcome, side, price_micros, size_micros, order_type, post_only, "
    "status, created_ns, updated_ns, reason, venue_id"
)
_FILL_COLUMNS = (
    "trade_id, order_id, window_id, outcome, side, price_micros, size_micros, fee_micros, "
    "liquidity, ts_ns, reversed_ns, reversal"
)
_POSITION_COLUMNS = (
    "window_id, qty_up_micros, qty_down_micros, cost_up_pico, cost_down_pico, fees_micros, "
    "fill_count"
)


def _opt_int(text: str | None) -> int | None:
    return None if text is None else int(text)


def _window(row: Sequence[object]) -> WindowRecord:
    names = _WINDOW_COLUMNS.split(", ")
    fields = dict(zip(names[:_WINDOW_BASE_COLUMNS], row[:_WINDOW_BASE_COLUMNS], strict=True))
    extra = dict(zip(names[_WINDOW_BASE_COLUMNS:], row[_WINDOW_BASE_COLUMNS:], strict=True))
    resolution = None
    if extra["res_ns"] is not None:
        resolution = {
            "checked_ns": extra["res_ns"],
            "ours": extra["res_ours"],
            "exchange": extra["res_exchange"],
            "settlement_atto": _opt_int(extra["res_settlement_atto"]),  # type: ignore[arg-type]
            "open_atto": _opt_int(extra["res_open_atto"]),  # type: ignore[arg-type]
        }
    return msgspec.convert(
        {
            **fields,
            "payout_pico": _opt_int(row[11]),  # type: ignore[arg-type]
            "pnl_pico": _opt_int(row[12]),  # type: ignore[arg-type]
            "open_atto": _opt_int(extra["open_atto"]),  # type: ignore[arg-type]
            "open_source": extra["open_source"],
            "open_ns": extra["open_ns"],
            "resolution": resolution,
        },
        WindowRecord,
    )


def _opt_text(value: int | None) -> str | None:
    return None if value is None else str(value)


def _order(row: Sequence[object]) -> OrderRecord:
    fields = dict(zip(_ORDER_COLUMNS.split(", "), row, strict=True))
    fields["post_only"] = bool(fields["post_only"])
    return msgspec.convert(fields, OrderRecord)


def _fill(row: Sequence[object]) -> FillRecord:
    return msgspec.convert(dict(zip(_FILL_COLUMNS.split(", "), row, strict=True)), FillRecord)


def _position(row: Sequence[object]) -> PositionSnapshot:
    fields = dict(zip(_POSITION_COLUMNS.split(", "), row, strict=True))
    fields["cost_up_pico"] = int(fields["cost_up_pico"])  # type: ignore[call-overload]
    fields["cost_down_pico"] = int(fields["cost_down_pico"])  # type: ignore[call-overload]
    return msgspec.convert(fields, PositionSnapshot)


P = ParamSpec("P")
T = TypeVar("T")


def _reason(exc: BaseException) -> str:
    name = getattr(exc, "sqlite_errorname", None)
    return f"{exc} ({name})" if name else str(exc)


def _guard(method: Callable[P, T]) -> Callable[P, T]:
    """SQLite's errors and rows that do not decode surface as one StoreError naming the file:
    a corrupt page, a file that is not a database, a value no record can hold."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except StoreError:
            raise
        except sqlite3.DatabaseError as exc:
            path = args[0].path  # type: ignore[attr-defined]
            raise StoreError(f"journal {path} cannot be read: {_reason(exc)}") from exc
        except (sqlite3.Error, ValueError, OverflowError) as exc:
            path = args[0].path  # type: ignore[attr-defined]
            raise StoreError(f"journal {path}: {exc}") from exc

    return wrapper


class SqliteJournal(JournalBase):
    """The default journal: a SQLite file. Safe to call from any thread (one at a time)."""

    backend = "sqlite"

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise JournalNotFound(f"no journal at {self.path}")
        if self.path.is_dir():
            raise StoreError(f"journal {self.path} is a directory, not a file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise StoreError(
                f"cannot create journal {self.path}: {self.path.parent} is a file, not a directory"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot create journal {self.path}: {exc.strerror or exc} ({exc.filename})"
            ) from None
        try:
            # Autocommit mode: transactions are opened explicitly below, never implicitly.
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=0
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open journal {self.path}: {exc}") from exc
        self._lock = threading.Lock()
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self._enable_wal()
            if mode != "wal":
                raise StoreError(f"journal {self.path}: WAL mode refused (got {mode!r})")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            try:
                self._migrate()
            except StoreWriteError as exc:
                # the first write of an open: say the file is unusable, not a write failed
                raise exc.__cause__ or exc from None  # type: ignore[misc]
        except sqlite3.OperationalError as exc:
            self._db.close()
            raise StoreError(f"cannot open journal {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"journal {self.path} is not a usable SQLite file: {exc}") from exc
        except StoreError:
            self._db.close()
            raise

    # ---- plumbing ----------------------------------------------------------------------

    def _enable_wal(self) -> str:
        """Switch to WAL, waiting out other processes that are opening the same new file.

        Switching the journal mode needs the file to itself, and SQLite answers "locked" at
        once instead of calling the busy handler while another connection is mid-switch.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                return str(self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the file's write lock from its first statement.

        Any SQLite failure on the way (disk full, I/O error, a read-only file, a corrupt page,
        a lock not granted in time) rolls the whole transaction back and raises one
        StoreWriteError: the journal keeps what it held before, never half a write.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._rollback()
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreWriteError(
                    f"journal {self.path}: write failed and was rolled back: {_reason(exc)}"
                ) from exc

    def _rollback(self) -> None:
        # SQLite may have rolled back already (disk full, I/O error); a second ROLLBACK
        # would fail with "no transaction is active"
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the connection rolls back when it closes; the write already failed

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise SchemaError(
                    f"journal {self.path} has schema version {version}, newer than this "
                    f"gabagool's {len(MIGRATIONS)}: upgrade gabagool to read it"
                )
            for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
                # executescript() would commit; run the statements inside our transaction.
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")

    @_guard
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @_guard
    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- windows -----------------------------------------------------------------------

    @_guard
    def record_window_opened(self, window: WindowRecord) -> bool:
        validate_window(window)
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO windows (window_id, asset, up_token, down_token, "
                "start_s, end_s, opened_ns, market_id, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open')",
                (
                    window.window_id,
                    window.asset,
                    window.up_token,
                    window.down_token,
                    window.start_s,
                    window.end_s,
                    window.opened_ns,
                    window.market_id,
                ),
            )
            return cursor.rowcount == 1

    @_guard
    def record_window_settled(
        self, window_id: str, winner: Outcome, settled_ns: int
    ) -> WindowRecord:
        with self._write() as db:
            window = self._window_in(db, window_id)
            if window is None:
                raise StoreError(f"cannot settle window {window_id!r}: never opened")
            settled = settle(window, self._position_in(db, window_id), winner, settled_ns)
            db.execute(
                "UPDATE windows SET status = ?, winner = ?, settled_ns = ?, payout_pico = ?, "
                "pnl_pico = ? WHERE window_id = ?",
                (
                    settled.status,
                    settled.winner,
                    settled.settled_ns,
                    str(settled.payout_pico),
                    str(settled.pnl_pico),
                    window_id,
                ),
            )
            return settled

    @_guard
    def record_window_open(
        self, window_id: str, open_atto: int, source: OpenSource, at_ns: int
    ) -> bool:
        with self._write() as db:
            window = self._window_in(db, window_id)
            if window is None:
                raise StoreError(f"cannot record the open of window {window_id!r}: never opened")
            updated = with_window_open(window, open_atto, source, at_ns)
            if updated is None:
                return False
            db.execute(
                "UPDATE windows SET open_atto = ?, open_source = ?, open_ns = ? "
                "WHERE window_id = ?",
                (str(open_atto), source, at_ns, window_id),
            )
            return True

    @_guard
    def record_resolution(self, window_id: str, check: ResolutionRecord) -> bool:
        with self._write() as db:
            window = self._window_in(db, window_id)
            if window is None:
                raise StoreError(
                    f"cannot record the resolution of window {window_id!r}: never opened"
                )
            if with_resolution(window, check) is None:
                return False
            db.execute(
                "UPDATE windows SET res_ns = ?, res_ours = ?, res_exchange = ?, "
                "res_settlement_atto = ?, res_open_atto = ? WHERE window_id = ?",
                (
                    check.checked_ns,
                    check.ours,
                    check.exchange,
                    _opt_text(check.settlement_atto),
                    _opt_text(check.open_atto),
                    window_id,
                ),
            )
            return True

    @staticmethod
    def _window_in(db: sqlite3.Connection, window_id: str) -> WindowRecord | None:
        row = db.execute(
            f"SELECT {_WINDOW_COLUMNS} FROM windows WHERE window_id = ?", (window_id,)
        ).fetchone()
        return None if row is None else _window(row)

    @_guard
    def window(self, window_id: str) -> WindowRecord | None:
        with self._lock:
            return self._window_in(self._db, window_id)

    @_guard
    def windows(self) -> list[WindowRecord]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_WINDOW_COLUMNS} FROM windows ORDER BY start_s, window_id"
            ).fetchall()
        return [_window(row) for row in rows]

    # ---- orders ------------------------------------------------------------------------

    @_guard
    def record_order(self, order: OrderRecord) -> bool:
        validate_order(order)
        with self._write() as db:
            if self._window_in(db, order.window_id) is None:
                raise StoreError(
                    f"order {order.order_id!r} names window {order.window_id!r}, never opened"
                )
            cursor = db.execute(
                f"INSERT OR IGNORE INTO orders ({_ORDER_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    order.order_id,
                    order.window_id,
                    order.outcome,
                    order.side,
                    order.price_micros,
                    order.size_micros,
                    order.order_type,
                    int(order.post_only),
                    order.status,
                    order.created_ns,
                    order.updated_ns,
                    order.reason,
                    order.venue_id,
                ),
            )
            return cursor.rowcount == 1

    @_guard
    def update_order(
        self,
        order_id: str,
        status: OrderStatus,
        updated_ns: int,
        reason: str = "",
        venue_id: str | None = None,
    ) -> OrderRecord:
        with self._write() as db:
            row = db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE order_id = ?", (order_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"cannot update order {order_id!r}: never journaled")
            updated = updated_order(_order(row), status, updated_ns, reason, venue_id)
            db.execute(
                "UPDATE orders SET status = ?, updated_ns = ?, reason = ?, venue_id = ? "
                "WHERE order_id = ?",
                (status, updated_ns, reason, updated.venue_id, order_id),
            )
            return updated

    @_guard
    def order(self, order_id: str) -> OrderRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE order_id = ?", (order_id,)
            ).fetchone()
        return None if row is None else _order(row)

    @_guard
    def orders(self, window_id: str | None = None) -> list[OrderRecord]:
        query = f"SELECT {_ORDER_COLUMNS} FROM orders"
        params: tuple[str, ...] = ()
        if window_id is not None:
            query += " WHERE window_id = ?"
            params = (window_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_ns, order_id", params).fetchall()
        return [_order(row) for row in rows]

    @_guard
    def resting_orders(self, window_id: str | None = None) -> list[OrderRecord]:
        return [o for o in self.orders(window_id) if o.status in RESTING_ORDER_STATUSES]

    # ---- fills and positions -----------------------------------------------------------

    @_guard
    def record_fill(self, fill: FillRecord) -> bool:
        validate_fill(fill)
        with self._write() as db:
            if self._window_in(db, fill.window_id) is None:
                raise StoreError(f"fill {fill.key} names window {fill.window_id!r}, never opened")
            cursor = db.execute(
                f"INSERT OR IGNORE INTO fills ({_FILL_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    fill.trade_id,
                    fill.order_id,
                    fill.window_id,
                    fill.outcome,
                    fill.side,
                    fill.price_micros,
                    fill.size_micros,
                    fill.fee_micros,
                    fill.liquidity,
                    fill.ts_ns,
                    fill.reversed_ns,
                    fill.reversal,
                ),
            )
            if cursor.rowcount == 0:
                return False
            self._put_position(db, self._position_in(db, fill.window_id).with_fill(fill))
            return True

    @staticmethod
    def _put_position(db: sqlite3.Connection, position: PositionSnapshot) -> None:
        db.execute(
            f"INSERT OR REPLACE INTO positions ({_POSITION_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                position.window_id,
                position.qty_up_micros,
                position.qty_down_micros,
                str(position.cost_up_pico),
                str(position.cost_down_pico),
                position.fees_micros,
                position.fill_count,
            ),
        )

    @_guard
    def record_fill_reversal(
        self, window_id: str, key: tuple[str, str], reversed_ns: int, reason: str = ""
    ) -> bool:
        trade_id, order_id = key
        with self._write() as db:
            cursor = db.execute(
                "UPDATE fills SET reversed_ns = ?, reversal = ? WHERE trade_id = ? AND "
                "order_id = ? AND window_id = ? AND reversed_ns IS NULL",
                (reversed_ns, reason, trade_id, order_id, window_id),
            )
            if cursor.rowcount == 0:
                return False
            # the position is the sum of what stands: fold it again (a subtraction would do,
            # but the fold is the rule recovery checks against)
            rows = db.execute(
                f"SELECT {_FILL_COLUMNS} FROM fills WHERE window_id = ? ORDER BY seq",
                (window_id,),
            ).fetchall()
            self._put_position(db, fold_fills(window_id, (_fill(row) for row in rows)))
            return True

    @_guard
    def fills(self, window_id: str) -> list[FillRecord]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_FILL_COLUMNS} FROM fills WHERE window_id = ? ORDER BY seq",
                (window_id,),
            ).fetchall()
        return [_fill(row) for row in rows]

    @_guard
    def all_fills(self) -> list[FillRecord]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_FILL_COLUMNS} FROM fills ORDER BY seq").fetchall()
        return [_fill(row) for row in rows]

    @staticmethod
    def _position_in(db: sqlite3.Connection, window_id: str) -> PositionSnapshot:
        row = db.execute(
            f"SELECT {_POSITION_COLUMNS} FROM positions WHERE window_id = ?", (window_id,)
        ).fetchone()
        return PositionSnapshot(window_id=window_id) if row is None else _position(row)

    @_guard
    def position_snapshot(self, window_id: str) -> PositionSnapshot:
        with self._lock:
            return self._position_in(self._db, window_id)

    @_guard
    def positions(self) -> list[PositionSnapshot]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_POSITION_COLUMNS} FROM positions ORDER BY window_id"
            ).fetchall()
        return [_position(row) for row in rows]

    # ---- halt flag ---------------------------------------------------------------------

    @_guard
    def set_halt(self, halted: bool, reason: str, set_by: str, at_ns: int) -> HaltState:
        state = HaltState(halted=halted, reason=reason, set_by=set_by, at_ns=at_ns)
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO halt (id, halted, reason, set_by, at_ns) "
                "VALUES (1, ?, ?, ?, ?)",
                (int(halted), reason, set_by, at_ns),
            )
        return state

    @_guard
    def get_halt(self) -> HaltState:
        with self._lock:
            row = self._db.execute(
                "SELECT halted, reason, set_by, at_ns FROM halt WHERE id = 1"
            ).fetchone()
        if row is None:
            return HaltState()
        return HaltState(halted=bool(row[0]), reason=row[1], set_by=row[2], at_ns=row[3])

    # ---- portfolio caps ----------------------------------------------------------------

    @staticmethod
    def _reservations_in(db: sqlite3.Connection, ledger: str) -> dict[str, int]:
        rows = db.execute(
            "SELECT holder, amount_pico FROM reservations WHERE ledger = ? ORDER BY holder",
            (ledger,),
        ).fetchall()
        return {holder: int(amount) for holder, amount in rows}

    @_guard
    def reserve_capital(
        self, holder: str, amount_pico: int, cap_pico: int, ledger: str = DEFAULT_LEDGER
    ) -> bool:
        validate_reservation(ledger, holder, amount_pico)
        with self._write() as db:
            held = self._reservations_in(db, ledger)
            if sum(held.values()) + amount_pico > cap_pico:
                return False
            db.execute(
                "INSERT OR REPLACE INTO reservations (ledger, holder, amount_pico) "
                "VALUES (?, ?, ?)",
                (ledger, holder, str(held.get(holder, 0) + amount_pico)),
            )
            return True

    @_guard
    def release_capital(
        self, holder: str, amount_pico: int | None = None, ledger: str = DEFAULT_LEDGER
    ) -> int:
        validate_reservation(ledger, holder, amount_pico or 0)
        with self._write() as db:
            held = self._reservations_in(db, ledger).get(holder, 0)
            released = held if amount_pico is None else min(amount_pico, held)
            if held - released == 0:
                db.execute(
                    "DELETE FROM reservations WHERE ledger = ? AND holder = ?", (ledger, holder)
                )
            else:
                db.execute(
                    "UPDATE reservations SET amount_pico = ? WHERE ledger = ? AND holder = ?",
                    (str(held - released), ledger, holder),
                )
            return released

    @_guard
    def reservations(self, ledger: str = DEFAULT_LEDGER) -> dict[str, int]:
        with self._lock:
            return self._reservations_in(self._db, ledger)

    @_guard
    def ledgers(self) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT ledger FROM reservations ORDER BY ledger"
            ).fetchall()
        return [row[0] for row in rows]

    # ---- whole journal -----------------------------------------------------------------

    @_guard
    def clear(self) -> None:
        with self._write() as db:
            # Children before parents, for the foreign keys.
            for table in ("fills", "orders", "positions", "windows", "halt", "reservations"):
                db.execute(f"DELETE FROM {table}")
