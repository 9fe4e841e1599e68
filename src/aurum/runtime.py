"""Process tuning for a long-running server."""

from __future__ import annotations

import gc
import resource

# A response of a few thousand objects allocates many short-lived containers: with CPython's default gen-0
# threshold (700) the cyclic collector ran thousands of times per request on the resolvers' path. Each
# collection walks every young object, though, and a process holding 10,000 sockets has tens of thousands:
# at 50,000, young collections took 90-187 ms there (bench realtime), a pause for every socket. At 20,000
# the compiled tree of 2,000 tasks collects once in twenty requests (0.25 ms a request), and the pauses
# shrink with the threshold.
GEN0_THRESHOLD = 20_000


def tune_gc() -> None:
    """Move start-up objects out of the collector's sight and collect young objects less often."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)


def file_limit() -> int:
    """The process's soft limit on open files (-1: none)."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def raise_file_limit() -> tuple[int, int]:
    """Raise the soft open-file limit to the hard one (a server holds a file per connection, and the
    soft default is often 1,024); returns the limit before and after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):  # an unlimited hard limit the kernel will not grant as a soft one
        return soft, soft
    return soft, hard
