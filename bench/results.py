"""What one run of bench/versus.py found, phase by phase, with the machine's load around each phase (the
machine is shared: a figure measured under someone else's load says so)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.background import Settled
from bench.loadgen import Sample
from bench.statements import Count

Load = tuple[float, float, float]  # os.getloadavg(): 1, 5 and 15 minutes


@dataclass
class Window:
    sample: Sample
    cpu: dict[str, float]  # CPU seconds by group of processes: server, engines, client (Aurum: worker)
    settled: Settled | None = None  # Aurum's writes: its background work after the last answer


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    before: Load
    after: Load


@dataclass
class Phases:
    """The run's phases in order, each timed and with the load average before and after it."""

    began: float = field(default_factory=time.perf_counter)
    done: list[Phase] = field(default_factory=list)

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        before, start = os.getloadavg(), time.perf_counter()
        yield
        after = os.getloadavg()
        self.done.append(Phase(name, time.perf_counter() - start, before, after))
        elapsed = time.perf_counter() - self.began
        print(f"versus: {elapsed:6.0f} s  {name} (load {after[0]:.2f})", file=sys.stderr, flush=True)

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.done)


@dataclass
class Results:
    cpus: int | None
    phases: Phases = field(default_factory=Phases)
    tasks: dict[str, int] = field(default_factory=dict)  # per tree, the tasks every arm's answer held
    latency: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    windows: dict[str, dict[str, list[Window]]] = field(default_factory=dict)
    statements: dict[str, dict[str, list[Count]]] = field(default_factory=dict)
    # Per read workload, Aurum's GraphQL requests by the path that answered them (its /metrics).
    answered: dict[str, dict[str, int]] = field(default_factory=dict)
