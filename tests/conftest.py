"""Shared fixtures, and the hypothesis profiles.

`ci` (the default) is derandomized: every run of `make test` draws the same examples, so it
never fails by luck. `fuzz` (`make fuzz`, `--hypothesis-profile=fuzz`) draws at random from
the seed pytest prints (`--hypothesis-seed` replays it), for long exploration; a failure
prints its reproduction blob either way.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gabagool.store.sqlite import JOURNAL_FILENAME
from hypothesis import settings
from loopback_clock import LoopbackClock

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile(
    "fuzz", derandomize=False, database=None, deadline=None, print_blob=True, max_examples=1_000
)
# Before any test module is imported, so each `@settings(...)` inherits from this profile.
settings.load_profile("ci")

# ---- redis_server: a real, throwaway redis-server on a free port ---------------------------

REDIS_START_TIMEOUT_S = 10.0
RedisLauncher = Callable[..., str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_redis(port: int, proc: subprocess.Popen[bytes], tls: bool) -> bool:
    """True once the server answers PING (or NOAUTH: it is up, and wants the password)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # readiness only; the tests verify the certificate
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw:
                conn = context.wrap_socket(raw) if tls else raw
                try:
                    conn.sendall(b"PING\r\n")
                    reply = conn.recv(64)
                finally:
                    conn.close()  # the TLS wrapper is a socket of its own
                if reply.startswith((b"+PONG", b"-NOAUTH")):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def redis_launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisLauncher]:
    """Start redis-servers on free ports (no persistence); returns `launch(password, tls)`.

    Skips when `redis-server` is missing, except under CI (`CI` set), where it must exist:
    `make dev` installs it.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; `make dev` (system-deps) installs it")
        pytest.skip("redis-server is not installed (`make dev` installs it)")
    procs: list[subprocess.Popen[bytes]] = []

    def launch(password: str | None = None, tls: tuple[Path, Path] | None = None) -> str:
        """A server's URL; with `tls=(cert, key)` it listens for TLS only (`rediss://`)."""
        for _ in range(5):  # a free port can be taken between probing and binding it
            port = _free_port()
            workdir: Path = tmp_path_factory.mktemp(f"redis-{port}")
            args = [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", str(workdir), "--daemonize", "no", "--loglevel", "warning",
                    "--logfile", str(workdir / "redis.log")]
            if tls is None:
                args += ["--port", str(port)]
            else:
                args += ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(tls[0]),
                         "--tls-key-file", str(tls[1]), "--tls-auth-clients", "no"]
            if password is not None:
                args += ["--requirepass", password]
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if _wait_for_redis(port, proc, tls is not None):
                procs.append(proc)
                auth = f":{password}@" if password is not None else ""
                scheme = "redis" if tls is None else "rediss"
                return f"{scheme}://{auth}127.0.0.1:{port}/0"
            proc.kill()
            proc.wait()
        raise RuntimeError(f"redis-server would not start; see the logs under {workdir.parent}")

    yield launch
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def redis_server(redis_launcher: RedisLauncher) -> str:
    """The URL (`redis://127.0.0.1:PORT/0`) of one redis-server shared by the session."""
    return redis_launcher()


@pytest.fixture(params=["sqlite", "redis"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty journal location on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / JOURNAL_FILENAME)
    url: str = request.getfixturevalue("redis_server")
    import redis

    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url


# ---- loopback_clock: the autojump clock for tests on real loopback sockets -----------------


@pytest.fixture
def loopback_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackClock]:
    """Virtual time that jumps only when nothing is in flight on a socket or a worker thread
    (see `loopback_clock.py`): a run over loopback sockets is the same on a busy machine.
    Fails the test if an in-flight entry had to be given up (a leak in the ledger)."""
    clock = LoopbackClock()
    clock.ledger.install(monkeypatch)
    yield clock
    assert clock.ledger.expired == [], f"in flight and never read: {clock.ledger.expired}"
