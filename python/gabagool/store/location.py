"""Where a journal lives: a location string read once, for opening the journal and locking it.

A location is a Redis URL (`redis://`, `rediss://` for TLS, `unix://`), a SQLite URL
(`sqlite:///abs/path.sqlite3`) or a plain file path; with none, `GABAGOOL_STORE`, else
`GABAGOOL_STORE_URL` (the engine's setting), else `journal.sqlite3` in the data dir.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from gabagool.store.base import StoreError

STORE_ENV = "GABAGOOL_STORE"
# the engine's `store.url` setting (gabagool.config), read when STORE_ENV is unset
STORE_URL_ENV = "GABAGOOL_STORE_URL"
# The same variable and default as the engine's `engine.data_dir` setting (gabagool.config).
DATA_DIR_ENV = "GABAGOOL_ENGINE_DATA_DIR"
DEFAULT_DATA_DIR = "~/.local/share/gabagool"
JOURNAL_FILENAME = "journal.sqlite3"
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
SSL_CERT_REQS = frozenset({"none", "optional", "required"})


class Location(NamedTuple):
    """A parsed journal location: a SQLite file, or a Redis URL (kept whole for the client)."""

    backend: Literal["sqlite", "redis"]
    path: Path | None = None
    url: str | None = None


def redact_url(url: str) -> str:
    """The URL with its password replaced, fit for messages and logs (even when malformed)."""
    try:
        parts = urlsplit(url)
        password = parts.password
        if password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        # unparseable: hide everything between the scheme and the last '@'
        scheme, sep, rest = url.partition("://")
        if "@" not in rest:
            return url
        return f"{scheme}{sep}***@{rest.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()


def _bad(location: str, why: str) -> StoreError:
    return StoreError(f"store location {redact_url(location)}: {why}")


def _parse_redis(location: str) -> Location:
    try:
        parts = urlsplit(location)
        port = parts.port
    except ValueError as exc:
        raise _bad(location, f"not a valid URL ({exc})") from None
    if parts.scheme == "unix":
        if not parts.path:
            raise _bad(location, "unix:// needs a socket path (unix:///run/redis.sock)")
    else:
        if port == 0:
            raise _bad(location, "port 0 is not a server's port")
        db = parts.path.strip("/")
        if db and not (db.isdigit() and db.isascii()):
            raise _bad(location, f"database {db!r} is not a number (redis://host:6379/0)")
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise _bad(location, f"bad query string ({exc})") from None
    for key, value in query:
        if key == "db" and not (value.isdigit() and value.isascii()):
            raise _bad(location, f"database {value!r} is not a number")
        if key == "ssl_cert_reqs" and value not in SSL_CERT_REQS:
            raise _bad(location, f"ssl_cert_reqs={value!r} is not none, optional or required")
    return Location("redis", url=location)


def parse_location(location: str) -> Location:
    """A location string, checked (StoreError naming what is wrong, password hidden)."""
    if not location.strip():
        raise StoreError("store location is empty")
    if "\x00" in location:
        raise _bad(location, "contains a NUL byte")
    scheme, sep, _ = location.partition(":")
    scheme = scheme.lower() if sep and scheme.isascii() and scheme.isalpha() else ""
    if scheme in REDIS_SCHEMES:
        return _parse_redis(location)
    if scheme == "sqlite":
        path = location.removeprefix("sqlite://")
        if not path:
            raise _bad(location, "sqlite:// needs a file path (sqlite:///abs/journal.sqlite3)")
        return Location("sqlite", path=Path(path).expanduser())
    if scheme == "" or len(scheme) == 1:  # a path (one letter: a Windows drive)
        return Location("sqlite", path=Path(location).expanduser())
    raise _bad(location, f"scheme {scheme!r} is not redis, rediss, unix or sqlite")


def resolve_location(
    location: str | None = None, data_dir: Path | str | None = None
) -> Location:
    """The journal `open_journal` would open for these arguments and the environment."""
    location = location or os.environ.get(STORE_ENV) or os.environ.get(STORE_URL_ENV) or None
    if location is None:
        base = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        return Location("sqlite", path=base / JOURNAL_FILENAME)
    return parse_location(location)
