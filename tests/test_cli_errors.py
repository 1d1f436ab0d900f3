"""Bad settings, files and servers end every command as one line and a non-zero exit, never a
traceback: NaN and infinities, bytes that are not UTF-8, a server that is not Redis, a
malformed URL, a corrupt journal, a data dir that cannot be used, an unwritable output."""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import assert_one_line_failure, gabagool, read_only_dir
from gabagool.store.sqlite import SqliteJournal

RUN = ("run", "--no-view", "--speed", "100", "--duration", "900", "--start", "1767225600")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GABAGOOL_STRATEGY_TARGET_PAIR_COST", "NaN"),
        ("GABAGOOL_STRATEGY_TRADE_SIZE", "Infinity"),
        ("GABAGOOL_RISK_MAX_CAPITAL", "-inf"),
        ("GABAGOOL_ENGINE_SPEED", "sNaN"),
    ],
)
def test_a_non_finite_setting_from_the_environment_is_one_line(
    tmp_path: Path, name: str, value: str
) -> None:
    result = gabagool("config", "show", cwd=tmp_path, env={name: value})
    assert_one_line_failure(result, "is not a finite number", code=2)


def test_a_non_finite_setting_in_toml_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text("[strategy]\nmax_delta = nan\n[risk]\nmax_capital = inf\n")
    result = gabagool("config", "show", "--config", "g.toml", cwd=tmp_path)
    assert_one_line_failure(result, "strategy.max_delta: NaN is not a finite number", code=2)


def test_invalid_utf8_in_dotenv_is_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"GABAGOOL_RISK_MAX_CAPITAL=5\nX=\xff\xfe\n")
    result = gabagool("config", "show", cwd=tmp_path)
    assert_one_line_failure(result, ".env: not UTF-8 text (byte 0xff", code=2)


def test_invalid_utf8_in_toml_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_bytes(b"[strategy]\ntrade_size = 10 # \xc3\x28\n")
    result = gabagool("run", "--config", "g.toml", cwd=tmp_path)
    assert_one_line_failure(result, "g.toml: not UTF-8 text", code=2)


def test_deeply_nested_toml_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = gabagool("config", "show", "--config", "g.toml", cwd=tmp_path)
    assert_one_line_failure(result, "g.toml", code=2)


@pytest.fixture
def not_redis() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that answers everything with an HTTP error page."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    server.close()


def test_a_server_that_is_not_redis_is_one_line(tmp_path: Path, not_redis: str) -> None:
    result = gabagool("state", "show", "--store", not_redis, cwd=tmp_path)
    assert_one_line_failure(result, "gabagool state: redis at", code=1)
    result = gabagool(*RUN, "--data-dir", str(tmp_path), "--store", not_redis, cwd=tmp_path)
    assert_one_line_failure(result, "gabagool run: store", code=2)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("redis://[::1/0", "not a valid URL"),
        ("redis://:s3cret@[::1/0", "not a valid URL"),
        ("redis://localhost:99999/0", "not a valid URL"),
        ("rediss://localhost:6380/0?ssl_cert_reqs=bogus", "ssl_cert_reqs='bogus'"),
        ("unix://", "needs a socket path"),
        ("ftp://host/x", "scheme 'ftp' is not"),
    ],
)
def test_a_malformed_redis_url_is_one_line_and_hides_the_password(
    tmp_path: Path, url: str, fragment: str
) -> None:
    result = gabagool("state", "show", "--store", url, cwd=tmp_path)
    line = assert_one_line_failure(result, fragment, code=1)
    assert "s3cret" not in line


def _corrupt_journal(path: Path) -> None:
    journal = SqliteJournal(path)
    journal.set_halt(True, "x" * 20_000, "test", 1)  # spills onto overflow pages
    journal.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data)):  # every page after the schema's: garbage
        data[offset] = 0xA5
    path.write_bytes(bytes(data))


def test_a_corrupt_sqlite_journal_is_one_line(tmp_path: Path) -> None:
    _corrupt_journal(tmp_path / "journal.sqlite3")
    for action in ("show", "export"):
        result = gabagool("state", action, "--data-dir", str(tmp_path), cwd=tmp_path)
        assert_one_line_failure(result, "journal", code=1)


def test_a_non_numeric_redis_schema_key_is_one_line(tmp_path: Path, redis_server: str) -> None:
    import redis

    url = redis_server.rsplit("/", 1)[0] + "/7"  # a database of its own
    client = redis.Redis.from_url(url)
    client.set("gbg-bad-schema:schema", "not-a-number")
    try:
        from gabagool.store.base import SchemaError
        from gabagool.store.redis import RedisJournal

        with pytest.raises(SchemaError, match="not a layout version"):
            RedisJournal(url, prefix="gbg-bad-schema")
        client.set("gabagool:schema", "banana")
        result = gabagool("state", "show", "--store", url, cwd=tmp_path)
        assert_one_line_failure(result, "not a layout version", code=1)
    finally:
        client.delete("gbg-bad-schema:schema", "gabagool:schema")
        client.close()


def test_a_data_dir_that_is_a_file_is_one_line_for_state(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = gabagool("state", "show", "--store", str(afile / "j.sqlite3"), cwd=tmp_path)
    assert_one_line_failure(result, code=1)


def test_sim_into_a_read_only_directory_is_one_line(tmp_path: Path) -> None:
    with read_only_dir(tmp_path) as ro:
        result = gabagool("sim", "--out", str(ro / "x.zst"), cwd=tmp_path)
    assert_one_line_failure(result, "--out", "is not writable", code=2)


def test_a_read_only_data_dir_is_one_line_for_run(tmp_path: Path) -> None:
    with read_only_dir(tmp_path) as ro:
        result = gabagool(*RUN, "--data-dir", str(ro / "data"), cwd=tmp_path)
    assert_one_line_failure(result, "data dir", code=2)


def test_an_unexpected_error_is_still_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gabagool import cli
    from gabagool.commands import config as config_command

    def broken(args: object) -> int:
        raise RuntimeError("something\nunforeseen")

    monkeypatch.setattr(config_command, "show_settings", broken)
    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)
    assert cli.main(["config", "show"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "gabagool config: internal error: RuntimeError: something unforeseen "
        "(set GABAGOOL_TRACEBACK=1 for the traceback)\n"
    )
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    assert cli.main(["config", "show"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_bad_flag_is_one_line_naming_the_command(tmp_path: Path) -> None:
    result = gabagool("state", "show", "--bogus", cwd=tmp_path)
    assert_one_line_failure(result, "gabagool: unrecognized arguments: --bogus", code=2)
    result = gabagool(cwd=tmp_path)
    assert_one_line_failure(result, "gabagool: the following arguments are required", code=2)
