"""The side-by-side table of bench/versus.py, with ratios and each of issue 14's targets met or missed."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from bench.arms import ARMS, AURUM, FLOOR, POSTGRAPHILE
from bench.versus import (
    CONCURRENCY,
    CREATE_SECONDS,
    GROWTH_ROUNDS,
    LATENCY,
    ROUNDS,
    WARMUP,
    WINDOW_SECONDS,
    Results,
    Window,
)

TREE_VS_POSTGRAPHILE = 1.0  # Aurum's latency ÷ PostGraphile's, at most
TREE_VS_RAW = 3.0  # Aurum's latency ÷ raw's, at most
NODE_RPS = 0.5  # Aurum's rps ÷ PostGraphile's, at least
CREATE_RPS = 0.8
CREATE_GROWTH = 0.8  # creates/s at 20,000 tasks ÷ at 200, at least
SIZES = ("2,000", "20,000")


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def rps(windows: Sequence[Window]) -> float:
    return sum(w.sample.requests for w in windows) / sum(w.sample.seconds for w in windows)


def cpu_ms(windows: Sequence[Window], group: str) -> float:
    requests = sum(w.sample.requests for w in windows)
    return sum(w.cpu.get(group, 0.0) for w in windows) / requests * 1000


def ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def quantity(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(
        self, label: str, cells: dict[str, str], ratios: str = "", target: str = "", mark: str = ""
    ) -> None:
        self.rows.append((label, *(cells.get(arm, "") for arm in ARMS), ratios, target, mark))

    def print(self) -> None:
        header = ("workload", *ARMS, "Aurum ÷ PG / ÷ raw", "target", "")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(len(header))]
        for row in [header, *self.rows]:
            print(
                "  ".join(
                    cell.ljust(w) if i == 0 else cell.rjust(w)
                    for i, (cell, w) in enumerate(zip(row, widths, strict=True))
                )
            )


def latency_rows(table: Table, results: Results) -> None:
    for size in SIZES:
        samples = results.latency[f"tree {size}"]
        p50 = {arm: statistics.median(samples[arm]) for arm in ARMS}
        p95 = {arm: percentile(samples[arm], 0.95) for arm in ARMS}
        to_pg = (p50[AURUM] / p50[POSTGRAPHILE], p95[AURUM] / p95[POSTGRAPHILE])
        to_raw = (p50[AURUM] / p50[FLOOR], p95[AURUM] / p95[FLOOR])
        ok = max(to_pg) <= TREE_VS_POSTGRAPHILE and max(to_raw) <= TREE_VS_RAW
        table.add(
            f"nested tree, {size} tasks: p50 / p95",
            {arm: f"{ms(p50[arm])} / {ms(p95[arm])} ms" for arm in ARMS},
            f"{to_pg[0]:.1f}, {to_pg[1]:.1f} / {to_raw[0]:.1f}, {to_raw[1]:.1f}",
            f"<= {TREE_VS_POSTGRAPHILE:.1f} / <= {TREE_VS_RAW:.0f}",
            verdict(ok),
        )


def rps_row(table: Table, results: Results, workload: str, label: str, least: float | None = None) -> None:
    windows = results.windows[workload]
    rate = {arm: rps(windows[arm]) for arm in ARMS}
    ratio = rate[AURUM] / rate[POSTGRAPHILE]
    table.add(
        label,
        {arm: quantity(rate[arm]) for arm in ARMS},
        f"{ratio:.2f} / {rate[AURUM] / rate[FLOOR]:.2f}",
        f">= {least:.1f}x PG" if least is not None else "",
        verdict(ratio >= least) if least is not None else "",
    )


def loaded_latency_row(table: Table, results: Results, workload: str, label: str) -> None:
    windows = results.windows[workload]
    cells = {}
    for arm in ARMS:
        samples = [x for w in windows[arm] for x in w.sample.latencies_ms]
        cells[arm] = f"{ms(statistics.median(samples))} / {ms(percentile(samples, 0.95))} ms"
    table.add(label, cells)


def cpu_rows(table: Table, results: Results) -> None:
    workloads = ("tree 2,000", "tree 20,000", "node", "create")
    for group, label in (("server", "server"), ("engines", "PostgreSQL + Redis")):
        cells = {
            arm: " / ".join(ms(cpu_ms(results.windows[w][arm], group)) for w in workloads) + " ms"
            for arm in ARMS
        }
        table.add(f"{label} CPU per request: tree 2k / 20k / node / create", cells)
    worker = " / ".join(ms(cpu_ms(results.windows[w][AURUM], "worker")) for w in workloads)
    table.add("  Aurum's worker process, the same", {AURUM: worker + " ms"})


def statement_rows(table: Table, results: Results) -> None:
    counted = results.statements
    cells = {}
    for arm in ARMS:
        parts = []
        for workload in ("tree 2,000", "tree 20,000", "node", "create"):
            found = {c.statements for c in counted[workload][arm]}
            parts.append("-".join(str(n) for n in sorted(found)))
        cells[arm] = " / ".join(parts)
    usual = [statistics.mode(c.statements for c in counted[f"tree {size}"][AURUM]) for size in SIZES]
    table.add(
        "SQL statements per request: tree 2k / 20k / node / create",
        cells,
        "",
        "equal at both sizes",
        verdict(usual[0] == usual[1]),
    )
    control = {arm: str(counted["tree 2,000"][arm][0].control) for arm in ARMS}
    table.add("  of which BEGIN / COMMIT (tree 2k)", control)


def growth_rows(table: Table, results: Results) -> None:
    small = rps(results.windows["create"][AURUM])
    large = rps(results.windows["create at 20,000"][AURUM])
    table.add(
        "Aurum creates/s with 200 / 20,000 tasks in the account",
        {AURUM: f"{quantity(small)} / {quantity(large)}"},
        f"{large / small:.2f}",
        f">= {CREATE_GROWTH:.1f}",
        verdict(large / small >= CREATE_GROWTH),
    )
    cells = []
    for workload in ("create", "create at 20,000"):
        settled = [w.settled for w in results.windows[workload][AURUM] if w.settled is not None]
        cell = f"{statistics.median(s.seconds for s in settled):.1f} s"
        dropped, running = sum(s.dropped for s in settled), sum(s.running for s in settled)
        if dropped or running:
            cell += f" (gave up: {dropped} jobs queued, {running} running)"
        cells.append(cell)
    table.add(
        "  then Aurum's background (announce, rescore), 200 / 20,000",
        {AURUM: " / ".join(cells)},
    )


def stability(results: Results) -> None:
    print(f"\nrequests per second in each of the {ROUNDS} windows (stability):")
    for workload, by_arm in results.windows.items():
        rounds = "; ".join(
            f"{arm} " + ", ".join(quantity(w.sample.rps) for w in windows) for arm, windows in by_arm.items()
        )
        print(f"  {workload:17} {rounds}")
    client = {
        workload: " / ".join(f"{cpu_ms(windows, 'client') * 1000:.0f}" for windows in by_arm.values())
        for workload, by_arm in results.windows.items()
        if not workload.startswith("create")  # the create windows include polling Aurum's background work
    }
    shown = "; ".join(f"{workload} {cells}" for workload, cells in client.items())
    print(f"  the client's own CPU per request, us ({' / '.join(ARMS)}): {shown}")


def report(results: Results) -> None:
    print(
        "\nAurum next to PostGraphile 4 and raw asyncpg + orjson over HTTP: one PostgreSQL, the same rows, "
        "row-level security as aurum_app with app.user_id, one server process each (Aurum's worker in a "
        "second), arms interleaved, the others paused while one is measured\n"
    )
    repetitions = ", ".join(f"{w} x{n}" for w, n in LATENCY.items())
    windows = ", ".join(f"{w} {s:.0f} s" for w, s in WINDOW_SECONDS.items())
    print(
        f"one at a time: {repetitions} per arm after {WARMUP} warm-up; concurrency {CONCURRENCY}: "
        f"{ROUNDS} windows per arm ({windows}; creates {CREATE_SECONDS:.0f} s, each arm into a fresh "
        f"200-task account, then Aurum {GROWTH_ROUNDS} windows into the 20,000-task one)\n"
    )
    table = Table()
    latency_rows(table, results)
    rps_row(table, results, "tree 2,000", "nested tree, 2,000 tasks, rps at c = 8")
    rps_row(table, results, "tree 20,000", "nested tree, 20,000 tasks, rps at c = 8")
    loaded_latency_row(table, results, "tree 2,000", "  p50 / p95 at c = 8, 2,000 tasks")
    loaded_latency_row(table, results, "tree 20,000", "  p50 / p95 at c = 8, 20,000 tasks")
    node = results.latency["node"]
    table.add(
        "node(id) of one task: p50 / p95",
        {arm: f"{ms(statistics.median(node[arm]))} / {ms(percentile(node[arm], 0.95))} ms" for arm in ARMS},
    )
    rps_row(table, results, "node", "node(id) of one task, rps at c = 8", NODE_RPS)
    rps_row(table, results, "create", "taskCreate, rps at c = 8", CREATE_RPS)
    cpu_rows(table, results)
    statement_rows(table, results)
    growth_rows(table, results)
    table.print()
    stability(results)
    before, after = results.load[0], results.load[-1]
    print(
        f"\nmachine: {results.cpus} CPUs shared by every server, PostgreSQL, Redis and the client; load "
        f"average (1/5/15 min) {before[0]:.2f}/{before[1]:.2f}/{before[2]:.2f} before, "
        f"{after[0]:.2f}/{after[1]:.2f}/{after[2]:.2f} after; this part took {results.seconds:.0f} s"
    )
