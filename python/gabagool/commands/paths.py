"""Checks on the files and directories a command will write, made before it starts working.

A command that would fail to write its result after minutes of work (a recording, a summary,
a journal) says so at once instead, as one UsageError line.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gabagool.cli import UsageError


def probe_writable(directory: Path, what: str) -> None:
    """Create and remove a file in `directory`: the one test of writability that also sees
    read-only mounts, and root's permissions as they are."""
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".gabagool-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"{what} {directory} is not writable: {exc.strerror or exc}") from None


def check_directory(path: Path, what: str) -> None:
    """`path` is, or can be made, a writable directory (it is made)."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{what} {path} cannot be created: {exc.strerror or exc}") from None
    probe_writable(path, what)


def check_output_file(path: Path, what: str) -> None:
    """A file to be written later: not a directory, in a directory that takes a new file."""
    if path.is_dir():
        raise UsageError(f"{what} {path} is a directory")
    if not path.parent.is_dir():
        raise UsageError(f"{what} {path}: directory {path.parent} does not exist")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{what} {path} is not writable")
    probe_writable(path.parent, what)


def check_readable_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise UsageError(f"{what} {path} {'is a directory' if path.is_dir() else 'does not exist'}")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{what} {path} is not readable")
