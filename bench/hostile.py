"""Hostile documents against ``aurum serve`` in a process of its own: the time to answer each family of
tests/hostile.py as it grows (each document a text new to the server, so its checks run every time), and
/health's latency from another client while a stream of the worst of them arrives.

``python -m bench hostile`` runs this part alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from tests.hostile import FAMILIES, Family, named_fragments, repeated_fields, unique

from bench.addresses import own_address
from bench.realtime import REGISTER, api_process, engines

SCALES = (10, 20, 40, 80, 160)  # levels of fan-out; for repeated fields, ten times as many fields
SAMPLES = 15
ATTACKERS = 8
ATTACK_SECONDS = 5.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def document(family: Family, scale: int) -> str:
    return family.make(scale * 10 if family.make is repeated_fields else scale)


async def answer_ms(http: httpx.AsyncClient, headers: dict[str, str], text: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = await http.post("/graphql", json={"query": unique(text)}, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    errors = response.json().get("errors") or [{"extensions": {"code": "ran"}}]
    return elapsed, str(errors[0].get("extensions", {}).get("code"))


async def families(http: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    rows = []
    for family in FAMILIES:
        headers = {"authorization": f"Bearer {token}"} if family.signed_in else {}
        for scale in SCALES:
            text = document(family, scale)
            timed = [await answer_ms(http, headers, text) for _ in range(SAMPLES)]
            times = [t for t, _ in timed]
            rows.append(
                {
                    "family": family.name,
                    "scale": scale,
                    "bytes": len(text),
                    "code": timed[-1][1],
                    "p50": statistics.median(times),
                    "p95": percentile(times, 0.95),
                }
            )
    return rows


async def attack(url: str, token: str, seconds: float) -> None:
    """``ATTACKERS`` clients sending the most expensive documents to check, each new to the server."""
    worst = (named_fragments(24), repeated_fields(700))
    headers = {"authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds

    async def one(index: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as attacker:
            while time.monotonic() < deadline:
                await attacker.post("/graphql", json={"query": unique(worst[index % 2])}, headers=headers)

    await asyncio.gather(*(one(i) for i in range(ATTACKERS)))


async def probe(url: str, seconds: float) -> list[float]:
    waits = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as prober:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            (await prober.get("/health")).raise_for_status()
            waits.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.01)
    return waits


async def health_under_attack(url: str, token: str) -> dict[str, list[float]]:
    """/health latencies, first alone, then while attackers in a process of their own (so that their
    client work does not delay the probe) send the most expensive documents to check."""
    quiet = await probe(url, 2.0)
    attackers = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.hostile", "attack", url, token, str(ATTACK_SECONDS + 1)
    )
    try:
        await asyncio.sleep(1.0)  # the attackers' process starting and their first documents under way
        loud = await probe(url, ATTACK_SECONDS)
    finally:
        await attackers.wait()
    return {"quiet": quiet, "attacked": loud}


async def measure() -> dict[str, Any]:
    result: dict[str, Any] = {"cpus": os.cpu_count(), "load": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="aurum-hostile-") as name:
        directory = Path(name)
        async with engines(directory) as found, api_process(0, directory, found) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                response = await http.post(
                    "/graphql",
                    json={
                        "query": REGISTER,
                        "variables": {
                            "input": {
                                "email": f"hostile-{uuid.uuid4().hex[:8]}@example.com",
                                "password": "correct horse battery",
                            }
                        },
                    },
                    headers=own_address(),
                )
                token = response.json()["data"]["accountRegister"]["accessToken"]
                result["families"] = await families(http, token)
            result["health"] = await health_under_attack(server.url, token)
    result["load_after"] = os.getloadavg()[0]
    return result


def report(result: dict[str, Any]) -> None:
    print(f"\nHostile documents: aurum serve in its own process; {SAMPLES} texts each, new to the server")
    print(f"{'family':18}{'scale':>7}{'bytes':>8}{'answer':>20}{'p50 ms':>9}{'p95 ms':>9}")
    for row in result["families"]:
        print(
            f"{row['family']:18}{row['scale']:>7}{row['bytes']:>8}{row['code']:>20}"
            f"{row['p50']:>9.2f}{row['p95']:>9.2f}"
        )
    worst = max(result["families"], key=lambda row: row["p95"])
    print(
        f"worst to refuse: {worst['family']} at scale {worst['scale']} ({worst['bytes']} bytes), "
        f"p50 {worst['p50']:.1f} ms, p95 {worst['p95']:.1f} ms"
    )
    for phase, waits in result["health"].items():
        with contextlib.suppress(statistics.StatisticsError):
            print(
                f"/health {phase:9} ({len(waits)} probes): p50 {statistics.median(waits):.1f} ms, "
                f"p95 {percentile(waits, 0.95):.1f} ms, max {max(waits):.1f} ms"
            )
    print(f"{result['cpus']} CPUs, load {result['load']:.2f} before, {result['load_after']:.2f} after")


async def main() -> None:
    report(await measure())


if __name__ == "__main__":
    if sys.argv[1:2] == ["attack"]:
        asyncio.run(attack(sys.argv[2], sys.argv[3], float(sys.argv[4])))
    else:
        asyncio.run(main())
