"""Who holds a journal: one live engine per (journal, engine id), and no clear under an engine.

SQLite: `flock`s beside the journal file. Every engine holds `<journal>.lock` shared, and
`<journal>.engine-<id>.lock` and `<journal>.asset-<asset>.lock` for each asset it trades
exclusive (with its pid, host and start in the files, so a refusal can name it): one SQLite
journal holds one position per window, so two engines trading one asset on it would merge
theirs. `state clear` takes `<journal>.lock` exclusive, which it only gets while no engine
runs. The kernel drops an flock when its process dies, so a crashed engine never
leaves a stale lock. The files stay after release: unlinking a lock file races with a
process that opened it and is about to lock it.

Redis: engines on one Redis share a portfolio by design, so the rule is distinct engine ids.
An engine holds the key `<prefix>:lease:<id>` (SET NX with a TTL, renewed by a thread every
third of the TTL in real time: the server expires keys in real time whatever pace the engine's
Trio clock runs at). A crashed engine's lease expires after the TTL, or is taken over at once
by a restart on the same host once its pid is gone. `state clear` refuses while any lease is
live; a clear keeps the leases.

The engine's call, at start, before it touches the journal:

    async with hold_engine_lock(settings.store.url, data_dir=settings.engine.data_dir,
                                engine_id=settings.engine_id(),
                                assets=settings.engine.assets):
        ...  # JournalBusy (a StoreError) when another engine holds it: print its message

or, synchronously, `lock = acquire_engine_lock(...)` ... `lock.release()` (or `with lock:`).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import msgspec
import trio

from gabagool.store.base import StoreError, StoreUnavailable
from gabagool.store.location import Location, redact_url, resolve_location

log = logging.getLogger("gabagool.store")

LEASE_TTL_S = 30.0
DEFAULT_PREFIX = "gabagool"  # the Redis journal's key prefix (gabagool.store.redis)
LEASE_KEY = "lease"
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")

# Renew / delete the lease only while it is still ours (its token), atomically.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
_TAKE_OVER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return false
"""


class JournalBusy(StoreError):
    """Another engine holds the journal, or this engine id on it; the message names it."""

    def __init__(self, message: str, holders: list[Holder]) -> None:
        super().__init__(message)
        self.holders = holders


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    """What a lock or lease says about the engine holding it (for messages)."""

    engine_id: str
    pid: int = 0
    host: str = ""
    since: str = ""  # UTC, for people: when the engine took the lock
    token: str = ""

    def describe(self) -> str:
        where = f"pid {self.pid} on {self.host}" if self.pid else "unknown process"
        since = f" since {self.since}" if self.since else ""
        return f"engine {self.engine_id!r} ({where}{since})"


def _me(engine_id: str) -> Holder:
    return Holder(
        engine_id=engine_id,
        pid=os.getpid(),
        host=socket.gethostname(),
        since=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        token=secrets.token_hex(16),
    )


def _decode_holder(raw: bytes | str | None, engine_id: str) -> Holder:
    if not raw:
        return Holder(engine_id=engine_id)
    try:
        return msgspec.json.decode(raw, type=Holder)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return Holder(engine_id=engine_id)


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists, owned by someone else
    return False


# ---- SQLite: flocks beside the file --------------------------------------------------------


def _lock_paths(journal: Path) -> tuple[Path, Path]:
    """`<journal>.lock` and the directory-relative prefix of the per-engine lock files."""
    real = journal.expanduser().resolve()
    return real.with_name(real.name + ".lock"), real.with_name(real.name + ".engine-")


def _open_lock(path: Path) -> IO[bytes]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "a+b")  # noqa: SIM115 - held open for as long as the lock is
    except OSError as exc:
        raise StoreError(f"cannot open lock file {path}: {exc.strerror or exc}") from None


def _try_flock(handle: IO[bytes], mode: int) -> bool:
    try:
        fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise StoreError(f"cannot lock {handle.name}: {exc.strerror or exc}") from None
    return True


def _read_holder(path: Path, engine_id: str) -> Holder:
    try:
        return _decode_holder(path.read_bytes(), engine_id)
    except OSError:
        return Holder(engine_id=engine_id)


def _sqlite_holders(journal: Path) -> list[Holder]:
    """The engines holding a lock on `journal` now (each probed with a non-blocking flock)."""
    _, prefix = _lock_paths(journal)
    held = []
    for path in sorted(prefix.parent.glob(prefix.name + "*.lock")):
        engine_id = path.name[len(prefix.name) : -len(".lock")]
        try:
            with open(path, "rb") as probe:
                if _try_flock(probe, fcntl.LOCK_SH):
                    continue  # nobody holds it exclusively: that engine is gone
        except OSError:
            continue
        held.append(_read_holder(path, engine_id))
    return held


class _SqliteEngineLock:
    def __init__(self, journal: Path, engine_id: str, assets: Sequence[str]) -> None:
        shared_path, prefix = _lock_paths(journal)
        self.journal = journal
        self.holder = _me(engine_id)
        self._handles: list[IO[bytes]] = []
        try:
            shared = self._hold(shared_path)
            if not _try_flock(shared, fcntl.LOCK_SH):
                raise JournalBusy(f"journal {journal} is being cleared; try again", [])
            own = prefix.with_name(prefix.name + _SAFE_ID.sub("_", engine_id) + ".lock")
            self._exclusive(
                own, engine_id, "one engine per engine id on a journal (stop it, or give this "
                "one another store.engine_id)"
            )
            # one SQLite journal has one position per window: two engines trading the same
            # asset on it would merge theirs, whatever their ids
            for asset in assets:
                path = shared_path.with_name(
                    f"{shared_path.name[: -len('.lock')]}.asset-{_SAFE_ID.sub('_', asset)}.lock"
                )
                self._exclusive(path, engine_id, f"it trades {asset} there already")
        except BaseException:
            self.release()
            raise

    def _hold(self, path: Path) -> IO[bytes]:
        handle = _open_lock(path)
        self._handles.append(handle)
        return handle

    def _exclusive(self, path: Path, engine_id: str, why: str) -> None:
        handle = self._hold(path)
        if not _try_flock(handle, fcntl.LOCK_EX):
            holder = _read_holder(path, "?")
            raise JournalBusy(
                f"journal {self.journal} is in use by {holder.describe()}: {why}", [holder]
            )
        handle.seek(0)
        handle.truncate()
        handle.write(msgspec.json.encode(self.holder))
        handle.flush()

    @property
    def lost(self) -> bool:
        return False  # an flock lasts as long as the process

    def release(self) -> None:
        for handle in reversed(self._handles):
            if not handle.closed:
                handle.close()  # closing the last descriptor drops the flock


# ---- Redis: a lease key with a TTL ----------------------------------------------------------


def _redis_client(url: str) -> Any:
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=5.0, socket_timeout=10.0)
    except (ValueError, TypeError, redis.exceptions.RedisError) as exc:
        raise StoreError(f"bad redis URL {redact_url(url)}: {exc}") from None


@contextmanager
def _redis_errors(url: str) -> Iterator[None]:
    import redis

    try:
        yield
    except redis.exceptions.RedisError as exc:
        raise StoreUnavailable(f"redis at {redact_url(url)}: {exc}") from exc


def _lease_key(prefix: str, engine_id: str) -> str:
    return f"{prefix}:{LEASE_KEY}:{engine_id}"


def _redis_holders(url: str, prefix: str) -> list[Holder]:
    client = _redis_client(url)
    try:
        with _redis_errors(url):
            pattern = f"{prefix}:{LEASE_KEY}:*".replace("[", "\\[").replace("]", "\\]")
            keys = sorted(client.scan_iter(match=pattern, count=1000))
            values = client.mget(keys) if keys else []
    finally:
        client.close()
    start = len(f"{prefix}:{LEASE_KEY}:")
    return [
        _decode_holder(raw, key.decode()[start:])
        for key, raw in zip(keys, values, strict=True)
        if raw is not None
    ]


class _RedisEngineLease:
    def __init__(self, url: str, engine_id: str, ttl_s: float, prefix: str) -> None:
        self.url = url
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.key = _lease_key(prefix, engine_id)
        self.holder = _me(engine_id)
        self._value = msgspec.json.encode(self.holder)
        self._client = _redis_client(url)
        self._lost = threading.Event()
        self._stop = threading.Event()
        try:
            with _redis_errors(url):
                self._take(engine_id)
        except BaseException:
            self._client.close()
            raise
        self._renewer = threading.Thread(
            target=self._renew_until_released, name=f"lease {self.key}", daemon=True
        )
        self._renewer.start()

    def _take(self, engine_id: str) -> None:
        if self._client.set(self.key, self._value, nx=True, px=self.ttl_ms):
            return
        raw = self._client.get(self.key)
        holder = _decode_holder(raw, engine_id)
        # a restart on the same host need not wait out the TTL of the engine it replaces
        if (
            raw is not None
            and holder.host == self.holder.host
            and holder.pid
            and _pid_gone(holder.pid)
            and self._client.eval(_TAKE_OVER, 1, self.key, raw, self._value, self.ttl_ms)
        ):
            return
        if raw is None and self._client.set(self.key, self._value, nx=True, px=self.ttl_ms):
            return  # it expired between the two calls
        raise JournalBusy(
            f"redis journal at {redact_url(self.url)}: {holder.describe()} is live there; "
            "engines sharing a Redis store need distinct store.engine_id values",
            [holder],
        )

    def _renew_until_released(self) -> None:
        warned = False
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                renewed = self._client.eval(_RENEW, 1, self.key, self._value, self.ttl_ms)
            except Exception as exc:  # noqa: BLE001 - the server may come back; warn once
                if not warned:
                    log.warning("cannot renew the lease %s: %s", self.key, exc)
                    warned = True
                continue
            if not renewed:
                self._lost.set()
                log.warning("lost the lease %s: another engine may now use this id", self.key)
                return
            warned = False

    @property
    def lost(self) -> bool:
        """True once the lease was found expired or taken: this engine id is no longer ours."""
        return self._lost.is_set()

    def release(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._renewer.join()
        try:
            if not self._lost.is_set():
                self._client.eval(_RELEASE, 1, self.key, self._value)
        except Exception as exc:  # noqa: BLE001 - the TTL ends it anyway
            log.warning("cannot release the lease %s (it expires by itself): %s", self.key, exc)
        finally:
            self._client.close()


# ---- the API -------------------------------------------------------------------------------


class EngineLock:
    """This engine's hold on its journal, until `release()` (or the end of a `with`)."""

    def __init__(self, location: Location, inner: _SqliteEngineLock | _RedisEngineLease) -> None:
        self.location = location
        self._inner = inner
        self.holder = inner.holder

    @property
    def lost(self) -> bool:
        """A Redis lease that expired or was taken while held (never for SQLite)."""
        return self._inner.lost

    def release(self) -> None:
        self._inner.release()

    def __enter__(self) -> EngineLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire_engine_lock(
    location: str | None,
    *,
    data_dir: Path | str | None,
    engine_id: str,
    assets: Sequence[str] = (),
    ttl_s: float = LEASE_TTL_S,
    prefix: str = DEFAULT_PREFIX,
) -> EngineLock:
    """Hold the journal at `location` (resolved as `open_journal` does) for `engine_id`.

    JournalBusy naming the holder when an engine with this id already runs on it, or (SQLite)
    one trading any of `assets` there, or while `state clear` holds it; StoreError when the
    lock cannot be taken at all. On Redis `assets` are not locked: engines share windows there
    by design, and only their ids must differ.
    """
    where = resolve_location(location, data_dir)
    if where.backend == "redis":
        assert where.url is not None
        return EngineLock(where, _RedisEngineLease(where.url, engine_id, ttl_s, prefix))
    assert where.path is not None
    return EngineLock(where, _SqliteEngineLock(where.path, engine_id, assets))


@asynccontextmanager
async def hold_engine_lock(
    location: str | None,
    *,
    data_dir: Path | str | None,
    engine_id: str,
    assets: Sequence[str] = (),
    ttl_s: float = LEASE_TTL_S,
) -> AsyncIterator[EngineLock]:
    """`acquire_engine_lock` off the Trio loop, released on the way out."""
    lock = await trio.to_thread.run_sync(
        lambda: acquire_engine_lock(
            location, data_dir=data_dir, engine_id=engine_id, assets=assets, ttl_s=ttl_s
        )
    )
    try:
        yield lock
    finally:
        # released even when the engine is being cancelled: a lease left renewing would keep
        # this engine id taken until the process ends
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(lock.release)


def journal_holders(
    location: str | None, *, data_dir: Path | str | None, prefix: str = DEFAULT_PREFIX
) -> list[Holder]:
    """The engines holding the journal now."""
    where = resolve_location(location, data_dir)
    if where.backend == "redis":
        assert where.url is not None
        return _redis_holders(where.url, prefix)
    assert where.path is not None
    return _sqlite_holders(where.path)


@contextmanager
def exclusive_journal(
    location: str | None,
    *,
    data_dir: Path | str | None,
    force: bool = False,
    prefix: str = DEFAULT_PREFIX,
) -> Iterator[list[Holder]]:
    """Hold the journal against engines for a clear; JournalBusy naming them unless `force`.

    Yields the engines that held it (empty unless forced). For SQLite no engine can start
    while this is held; for Redis the leases are checked once, at entry.
    """
    where = resolve_location(location, data_dir)
    if where.backend == "redis":
        assert where.url is not None
        holders = _redis_holders(where.url, prefix)
        if holders and not force:
            raise _busy(redact_url(where.url), holders)
        yield holders
        return
    assert where.path is not None
    shared_path, _ = _lock_paths(where.path)
    handle = _open_lock(shared_path)
    try:
        holders = []
        if not _try_flock(handle, fcntl.LOCK_EX):
            holders = _sqlite_holders(where.path) or [Holder(engine_id="?")]
            if not force:
                raise _busy(str(where.path), holders)
        yield holders
    finally:
        handle.close()


def _busy(where: str, holders: list[Holder]) -> JournalBusy:
    names = ", ".join(h.describe() for h in holders)
    return JournalBusy(f"journal {where} is in use by {names}: stop it first, or --force", holders)
