"""Process tuning for a long-running server."""

from __future__ import annotations

import gc

# A GraphQL response of a few thousand objects allocates hundreds of thousands of short-lived containers;
# with CPython's default gen-0 threshold (700) the cyclic collector then runs thousands of times per request.
GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Move start-up objects out of the collector's sight and collect young objects less often."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
