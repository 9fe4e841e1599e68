"""The realtime bench's figures, side by side for each number of subscribers, with the targets."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.realtime import Burst, Stage
    from bench.realtime_cpu import CpuMeter

TARGET_P99_MS = 250.0
TARGET_KIB = 30.0


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def kib_per_connection(
    after: list[int], before: list[int], connections: list[int]
) -> tuple[float, list[float]]:
    each = [(a - b) / n / 1024 for a, b, n in zip(after, before, connections, strict=True)]
    return (sum(after) - sum(before)) / sum(connections) / 1024, each


def _median(samples: list[float]) -> float:
    return float(statistics.median(samples))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


Row = tuple[str, list[str], str, str]


def _rows(stages: list[Stage], before: list[int], config: dict[str, Any]) -> list[Row]:
    def each(render: Callable[[Stage], str]) -> list[str]:
        return [render(s) for s in stages]

    def marks(ok: Callable[[Stage], bool]) -> str:
        return " / ".join(verdict(ok(s)) for s in stages)

    def p99(tally_of: Callable[[Stage], Any]) -> Callable[[Stage], float]:
        return lambda s: percentile(tally_of(s).latency_ms, 0.99)

    def local(s: Stage, on_it: bool) -> float:
        return statistics.median([d[0] for d in s.steady.deliveries if d[1] == on_it])

    steady_p99, burst_p99 = p99(lambda s: s.steady), p99(lambda s: s.burst.tally)
    target = f"<= {TARGET_P99_MS:.0f} ms"
    rows: list[Row] = [
        (
            f"delivery p50, 1 mutation at a time ({len(stages[0].steady.deliveries)})",
            each(lambda s: f"{statistics.median(s.steady.latency_ms):.1f} ms"),
            "",
            "",
        ),
        (
            "delivery p99, 1 mutation at a time",
            each(lambda s: f"{steady_p99(s):.1f} ms"),
            target,
            marks(lambda s: steady_p99(s) <= TARGET_P99_MS),
        ),
        (
            "  p50 same process / other process",
            each(lambda s: f"{local(s, True):.1f} / {local(s, False):.1f} ms"),
            "",
            "",
        ),
        (
            "  mutation HTTP answer p50",
            each(lambda s: f"{statistics.median(s.steady.http_ms):.1f} ms"),
            "",
            "",
        ),
        (
            f"delivery p50 / p99, bursts of {config['burst_users']} users' mutations",
            each(lambda s: f"{statistics.median(s.burst.tally.latency_ms):.0f} / {burst_p99(s):.0f} ms"),
            target,
            marks(lambda s: burst_p99(s) <= TARGET_P99_MS),
        ),
        (
            "  mutation HTTP answer p50 / max in bursts",
            each(
                lambda s: (
                    f"{statistics.median(s.burst.tally.http_ms):.0f} / {max(s.burst.tally.http_ms):.0f} ms"
                )
            ),
            "",
            "",
        ),
        ("deliveries per second in bursts", each(lambda s: f"{_rate(s.burst):,.0f} /s"), "", ""),
    ]
    if any(s.full is not None for s in stages):
        rows += _full_rows(stages)
    rows += _memory_rows(stages, before)
    rows += [
        (
            "open the sockets added (init + ack)",
            each(lambda s: f"{s.added:,} in {s.open_seconds:.1f} s"),
            "",
            "",
        ),
        ("subscribe them + first delivery to each", each(lambda s: f"{s.subscribe_seconds:.1f} s"), "", ""),
        ("server CPU while idle, % of a core per process", each(_idle), "", ""),
        ("load average (1 min) when the stage began", each(lambda s: f"{s.load:.1f}"), "", ""),
    ]
    return rows


def _idle(stage: Stage) -> str:
    meter = stage.idle_cpu
    shares = [v / meter.wall * 100 for k, v in meter.used.items() if k.startswith("server")]
    return " / ".join(f"{share:.1f}" for share in shares) + " %"


def _rate(burst: Burst) -> float:
    return len(burst.tally.deliveries) / burst.seconds


def _full_rows(stages: list[Stage]) -> list[Row]:
    def full(render: Callable[[Burst], str]) -> list[str]:
        return [render(s.full) if s.full is not None else "-" for s in stages]

    users = max(s.users for s in stages if s.full is not None)
    return [
        (
            f"delivery p50 / p99, all {users} users at once",
            full(
                lambda b: (
                    f"{statistics.median(b.tally.latency_ms):,.0f} / "
                    f"{percentile(b.tally.latency_ms, 0.99):,.0f} ms"
                )
            ),
            "",
            "",
        ),
        (
            "  mutation HTTP answer p50 / max",
            full(lambda b: f"{statistics.median(b.tally.http_ms):,.0f} / {max(b.tally.http_ms):,.0f} ms"),
            "",
            "",
        ),
        ("deliveries per second, every user at once", full(lambda b: f"{_rate(b):,.0f} /s"), "", ""),
    ]


def _memory_rows(stages: list[Stage], before: list[int]) -> list[Row]:
    subscribed = [kib_per_connection(s.subscribed, before, s.connections) for s in stages]
    acked = [kib_per_connection(s.acked, before, s.connections) for s in stages]
    target = f"<= {TARGET_KIB:.0f} KiB"
    return [
        (
            "idle memory per connection, subscribed",
            [f"{total:.1f} KiB" for total, _ in subscribed],
            target,
            " / ".join(verdict(total <= TARGET_KIB) for total, _ in subscribed),
        ),
        ("  per process", [" / ".join(f"{k:.1f}" for k in each) for _, each in subscribed], "", ""),
        (
            "idle memory per connection, ack only",
            [f"{total:.1f} KiB" for total, _ in acked],
            target,
            " / ".join(verdict(total <= TARGET_KIB) for total, _ in acked),
        ),
        ("  per process", [" / ".join(f"{k:.1f}" for k in each) for _, each in acked], "", ""),
    ]


def _cpu_line(title: str, meter: CpuMeter, cpus: int) -> str:
    used = ", ".join(f"{name} {seconds:.1f}" for name, seconds in meter.used.items())
    busy = meter.machine / meter.wall / cpus * 100
    strangers = ", ".join(f"{name} {seconds:.1f}" for name, seconds in meter.strangers if seconds >= 0.05)
    return (
        f"  {title} (wall {meter.wall:.1f} s): {used}, anything else {meter.others:.1f}"
        f"{f' ({strangers})' if strangers else ''}; machine busy {busy:.0f} % of {cpus} CPUs; busiest "
        f"client process {meter.busiest_client * 100:.0f} % of a core"
    )


def _gc_line(meter: CpuMeter) -> str:
    parts = []
    for generation in range(3):
        cpu = [c for g, c, _ in meter.collections if g == generation]
        if cpu:
            parts.append(f"gen{generation} {len(cpu)} x, max {max(cpu):.0f} ms, total {sum(cpu):.0f} ms")
    return f"    garbage collections in the servers (CPU): {'; '.join(parts) or 'none'}"


def _server_cpu_per_delivery(meter: CpuMeter, deliveries: int) -> float:
    servers = sum(v for k, v in meter.used.items() if k.startswith("server"))
    return servers / deliveries * 1e6


def report(result: dict[str, Any]) -> None:
    stages: list[Stage] = result["stages"]
    before: list[int] = result["before"]
    config = result["config"]
    cpus = int(result["cpus"] or 1)
    load = " / ".join(f"{x:.1f}" for x in result["load"])
    print(
        f"\nRealtime: {config['processes']} x `aurum serve --no-worker` on one PostgreSQL and Redis; "
        f"each user holds {config['sockets_per_user']} sockets (split over the processes), recordChanged "
        f"{{ cursor operation entityId }}; the sockets in {config['clients']} client processes\n"
    )
    print(
        f"machine: {cpus} CPUs shared by both servers, PostgreSQL, Redis and the bench's processes; load "
        f"average {load} (1 / 5 / 15 min) when this part started; {stages[-1].users} users registered "
        f"in {result['register_seconds']:.1f} s\n"
    )
    heads = [f"{s.subscribers:,} subscribers" for s in stages]
    print(f"{'':50}" + "".join(f"{h:>21}" for h in heads) + f"{'target':>12}{'':>13}")
    for label, measured, target, mark in _rows(stages, before, config):
        print(f"{label:50}" + "".join(f"{m:>21}" for m in measured) + f"{target:>12}{mark:>13}")
    for s in stages:
        print(f"\nCPU seconds at {s.subscribers:,} subscribers:")
        print(_cpu_line("opening and subscribing the sockets added", s.joining_cpu, cpus))
        print(_gc_line(s.joining_cpu))
        print(_cpu_line("idle", s.idle_cpu, cpus))
        print(_gc_line(s.idle_cpu))
        print(_cpu_line("one at a time", s.steady_cpu, cpus))
        print(_gc_line(s.steady_cpu))
        phases = [("bursts", s.burst)] + ([("every user at once", s.full)] if s.full is not None else [])
        for title, burst in phases:
            assert burst.cpu is not None
            print(_cpu_line(title, burst.cpu, cpus))
            print(_gc_line(burst.cpu))
            per = _server_cpu_per_delivery(burst.cpu, len(burst.tally.deliveries))
            print(f"    server CPU per delivery, its share of the mutation included: {per:.0f} us")
    mb = [
        " -> ".join(
            f"{x / 2**20:.0f}" for x in (b, *(rss for s in stages for rss in (s.acked[i], s.subscribed[i])))
        )
        for i, b in enumerate(before)
    ]
    print(f"\nRSS MiB per process (before, then acked -> subscribed at each size): {'; '.join(mb)}")
    duplicates = sum(s.steady.duplicates + s.burst.tally.duplicates for s in stages)
    print(
        f"permessage-deflate answered to a client offering it: {result['compression'] or 'none'}; "
        f"unexpected events: {result['unexpected']}; duplicates: {duplicates}; sockets closed by a server: "
        f"{result['closed_early']}; other messages: {result['other_messages'] or 'none'}"
    )
    for index, logged in enumerate(result["server_warnings"]):
        for message, count in logged.items():
            print(f"server {index} logged {count}x: {message}")
