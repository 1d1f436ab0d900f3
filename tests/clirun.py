"""Run `gabagool` in a subprocess as a user would, and check how it failed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TIMEOUT_S = 60


def gabagool(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """`python -m gabagool ARGS` in `cwd` (so no stray `.env`), without the caller's
    GABAGOOL_* variables, plus `env`."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GABAGOOL_")}
    environ["HOME"] = str(cwd)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gabagool", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_line_failure(
    result: subprocess.CompletedProcess[str], *fragments: str, code: int | None = None
) -> str:
    """The command failed (non-zero, or `code`) with one stderr line holding `fragments`."""
    err = result.stderr
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert result.returncode != 0, (result.returncode, err)
    if code is not None:
        assert result.returncode == code, (result.returncode, err)
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@contextmanager
def read_only_dir(base: Path) -> Iterator[Path]:
    """A directory in which nothing can be created. Unprivileged: mode 0555. As root (which
    permissions do not stop): a read-only tmpfs, else /proc/sys (no new entries there)."""
    path = base / f"ro-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    mount = shutil.which("mount")
    mounted = mount is not None and subprocess.run(
        [mount, "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    ).returncode == 0
    if not mounted:
        yield Path("/proc/sys")
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True, check=False)
