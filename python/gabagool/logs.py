"""Logging: a console handler at INFO and JSON lines at DEBUG in a file under the data dir."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

# attributes every LogRecord has; anything else came in through `extra=` and is kept
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_encoder = msgspec.json.Encoder()


class JsonLinesFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the `extra` fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return _encoder.encode(entry).decode()


class LogSetup:
    """The handlers `setup_logging` installed; `close()` puts the logger back as it was."""

    def __init__(self, path: Path, handlers: list[logging.Handler], previous: tuple) -> None:
        self.path = path
        self._handlers = handlers
        self._previous = previous

    def close(self) -> None:
        root = logging.getLogger("gabagool")
        for handler in self._handlers:
            root.removeHandler(handler)
            handler.close()
        handlers, level, propagate = self._previous
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        root.propagate = propagate


def setup_logging(
    data_dir: str | Path,
    *,
    console_level: str = "INFO",
    console_handler: logging.Handler | None = None,
) -> LogSetup:
    """Send the `gabagool` logger to the console and to a new JSON-lines file under
    `data_dir/logs/` (its path is `.path`), until `.close()`."""
    directory = Path(data_dir).expanduser() / "logs"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"gabagool-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.jsonl"
    root = logging.getLogger("gabagool")
    previous = (list(root.handlers), root.level, root.propagate)
    for handler in previous[0]:
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG)
    root.propagate = False
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(JsonLinesFormatter())
    if console_handler is None:
        console_handler = logging.StreamHandler(sys.stderr)
        console_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    console_handler.setLevel(console_level)
    for handler in (file_handler, console_handler):
        root.addHandler(handler)
    return LogSetup(path, [file_handler, console_handler], previous)
