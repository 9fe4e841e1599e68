"""Process tuning for a long-running server."""

from __future__ import annotations

import gc
import resource

# A GraphQL response of a few thousand objects allocates hundreds of thousands of short-lived containers;
# with CPython's default gen-0 threshold (700) the cyclic collector then runs thousands of times per request.
GEN0_THRESHOLD = 50_000


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
