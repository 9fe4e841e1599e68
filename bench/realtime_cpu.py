"""Where the realtime bench's CPU goes: the servers, PostgreSQL, Redis, the bench's own processes and
anything else on the machine, per measured phase; and, with ``BENCH_PROFILE=<directory>``, py-spy's samples of
each server and of one client process through each phase."""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from bench.realtime import ApiProcess, ClientProcess, Engines


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    seconds: dict[str, dict[int, float]] = {}
    for name, group in pids.items():
        seconds[name] = {}
        for pid in group:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                seconds[name][pid] = times.user + times.system
    return seconds


def process_groups(
    servers: list[ApiProcess], found: Engines, clients: list[ClientProcess]
) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {f"server {s.index}": [s.process.pid] for s in servers}
    groups["bench clients"] = [c.process.pid for c in clients]
    groups["bench coordinator"] = [os.getpid()]
    if found.postgres_pid is not None:
        with contextlib.suppress(psutil.Error):
            postmaster = psutil.Process(found.postgres_pid)
            groups["postgres"] = [found.postgres_pid, *(c.pid for c in postmaster.children(recursive=True))]
    if found.redis_pid is not None:
        groups["redis"] = [found.redis_pid]
    return groups


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (every process, ours or not) since boot."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0) - getattr(times, "steal", 0.0))


def every_process() -> dict[int, tuple[str, float]]:
    """Each process's name and CPU seconds so far."""
    found: dict[int, tuple[str, float]] = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None:
            found[process.pid] = (process.info["name"] or "?", times.user + times.system)
    return found


class Profiler:
    """With ``BENCH_PROFILE=<directory>``: py-spy samples each server and the first client process through
    each measured phase, written as collapsed stacks (``<phase>-server<i>.txt``, ``<phase>-client.txt``, for
    flamegraph.pl or speedscope)."""

    phases = itertools.count()

    def __init__(self, servers: list[ApiProcess], clients: list[ClientProcess]) -> None:
        self.targets = {f"server{s.index}": s.process.pid for s in servers}
        self.targets["client"] = clients[0].process.pid
        self.spies: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        directory = os.environ.get("BENCH_PROFILE")
        if not directory:
            return
        phase = next(self.phases)
        py_spy = shutil.which("py-spy") or Path(sys.executable).with_name("py-spy")
        for name, pid in self.targets.items():
            output = Path(directory) / f"{phase}-{name}.txt"
            command = [str(py_spy), "record", "--format", "raw", "--rate", "200", "--nonblocking"]
            command += ["--pid", str(pid), "--output", str(output)]
            self.spies.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self) -> None:
        for spy in self.spies:
            spy.send_signal(signal.SIGINT)
        for spy in self.spies:
            spy.wait()


def gc_probe_env(directory: Path) -> dict[str, str]:
    """What a server's environment needs for bench/gc_probe to time its garbage collections."""
    directory.mkdir(parents=True, exist_ok=True)
    probe = Path(__file__).resolve().parent / "gc_probe"
    path = os.pathsep.join(p for p in (str(probe), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "BENCH_GC_DIR": str(directory)}


class GcPauses:
    """The servers' garbage collections through each phase, as bench/gc_probe writes them when signalled:
    (generation, CPU ms, wall ms) each."""

    def __init__(self, servers: list[ApiProcess], directory: Path) -> None:
        self.directory = directory
        self.dumps = {s.process.pid: itertools.count() for s in servers}

    def collect(self) -> list[tuple[int, float, float]]:
        """The collections since the last call, of every server."""
        paths = []
        for pid, dumps in self.dumps.items():
            os.kill(pid, signal.SIGUSR1)
            paths.append(self.directory / f"{pid}-{next(dumps)}.json")
        found: list[tuple[int, float, float]] = []
        for path in paths:
            deadline = time.monotonic() + 10
            while not path.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no garbage collection figures in {path}")
                time.sleep(0.01)
            found += [(int(g), float(cpu), float(wall)) for g, cpu, wall in json.loads(path.read_text())]
        return found


class CpuMeter:
    def __init__(
        self, servers: list[ApiProcess], found: Engines, clients: list[ClientProcess], gc: GcPauses
    ) -> None:
        self.gc = gc
        self.collections: list[tuple[int, float, float]] = []  # the servers' during the phase
        self.profiler = Profiler(servers, clients)
        self.groups = functools.partial(process_groups, servers, found, clients)
        self.start: dict[str, dict[int, float]] = {}
        self.everyone: dict[int, tuple[str, float]] = {}
        self.wall = self.machine = 0.0
        self.used: dict[str, float] = {}
        self.busiest_client = 0.0  # the largest share of one core a client process used
        self.strangers: list[tuple[str, float]] = []  # the busiest processes not of this bench

    def __enter__(self) -> CpuMeter:
        self.gc.collect()  # what came before is not this phase's
        self.profiler.start()
        self.start = cpu_seconds(self.groups())
        self.everyone = every_process()
        self.machine = machine_busy()
        self.wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.machine = machine_busy() - self.machine
        self.profiler.stop()
        self.collections = self.gc.collect()
        groups = self.groups()
        end = cpu_seconds(groups)
        spent = {
            name: {pid: value - self.start.get(name, {}).get(pid, 0.0) for pid, value in group.items()}
            for name, group in end.items()
        }
        self.used = {name: sum(group.values()) for name, group in spent.items()}
        self.busiest_client = max(spent["bench clients"].values(), default=0.0) / self.wall
        ours = {pid for group in groups.values() for pid in group}
        strangers = [
            (name, seconds - self.everyone.get(pid, (name, 0.0))[1])
            for pid, (name, seconds) in every_process().items()
            if pid not in ours
        ]
        self.strangers = sorted(strangers, key=lambda s: -s[1])[:3]

    @property
    def others(self) -> float:
        """CPU seconds of processes outside this bench (other work on the machine) meanwhile."""
        return max(0.0, self.machine - sum(self.used.values()))
