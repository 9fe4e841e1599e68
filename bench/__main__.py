"""``make bench``: Aurum next to PostGraphile 4 and the raw floor (bench/versus.py: the nested tree at
2,000 and 20,000 tasks, ``node(id)``, ``taskCreate``, with issue 14's targets), then the realtime benchmark
(bench/realtime.py): mutation -> WebSocket delivery and memory per connection, the analysis benchmark
(bench/analysis.py): analysisRequest -> insight delivered, rules-only and with a stand-in model, the hostile
documents (bench/hostile.py), the planner (bench/planning.py) and writes as an account grows
(bench/writes.py). ``python -m bench versus|realtime|analysis|hostile|planning|writes`` runs one part alone
(``realtime 1000`` only its 1,000-subscriber stage).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bench import analysis, hostile, planning, realtime, realtime_report, versus, writes


async def everything() -> None:
    started = time.perf_counter()
    await versus.main()
    realtime_report.report(await realtime.measure())
    analysis.report(await analysis.measure())
    hostile.report(await hostile.measure())
    planning.report(await asyncio.to_thread(planning.measure))
    writes.report(await writes.measure())
    print(f"\ntotal bench time {time.perf_counter() - started:.1f} s")


PARTS: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
    "analysis": analysis.main,
    "hostile": hostile.main,
    "versus": versus.main,
    "planning": planning.main,
}


def run(arguments: list[str]) -> None:
    if arguments[:1] == ["writes"]:  # the parts taking numbers (see bench.writes.main, bench.realtime.main)
        asyncio.run(writes.main(arguments[1:]))
    elif arguments[:1] == ["realtime"]:
        asyncio.run(realtime.main(arguments[1:]))
    elif not arguments:
        asyncio.run(everything())
    elif arguments[0] in PARTS and len(arguments) == 1:
        asyncio.run(PARTS[arguments[0]]())
    else:
        sys.exit(f"usage: python -m bench [{'|'.join([*PARTS, 'realtime', 'writes'])}]")


if __name__ == "__main__":
    run(sys.argv[1:])
