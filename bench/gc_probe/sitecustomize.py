"""The realtime bench's view of its servers' garbage collections: on the servers' PYTHONPATH only, and only
with ``BENCH_GC_DIR`` set. Each collection's generation and its CPU and wall milliseconds are kept; SIGUSR1
writes those since the last signal to ``$BENCH_GC_DIR/<pid>-<n>.json`` and starts afresh, so the bench can
tell each measured phase's pauses apart (a pause holds every socket of the process)."""

from __future__ import annotations

import gc
import itertools
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

_DIRECTORY = os.environ.get("BENCH_GC_DIR")

if _DIRECTORY:
    _collections: list[tuple[int, float, float]] = []
    _started = [0.0, 0.0]
    _dumps = itertools.count()

    def _timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            _started[:] = [time.thread_time(), time.perf_counter()]
        else:
            cpu, wall = time.thread_time() - _started[0], time.perf_counter() - _started[1]
            _collections.append((info["generation"], cpu * 1000, wall * 1000))

    def _dump(signum: int, frame: object) -> None:
        taken = _collections[:]
        del _collections[: len(taken)]
        path = Path(_DIRECTORY or ".") / f"{os.getpid()}-{next(_dumps)}.json"
        path.with_suffix(".tmp").write_text(json.dumps(taken))
        path.with_suffix(".tmp").rename(path)  # whole when it appears

    gc.callbacks.append(_timed)
    signal.signal(signal.SIGUSR1, _dump)
