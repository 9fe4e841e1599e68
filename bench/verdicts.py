"""The side-by-side table of bench/versus.py, with ratios and each of issue 14's targets met or missed.

The arithmetic (``tree_verdict``, ``rate_verdict``, ``statements_verdict``) is kept apart from the printing,
so that tests/test_bench_versus.py can hold it to the targets' words.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.arms import ARMS, AURUM, FLOOR, POSTGRAPHILE
from bench.results import Load, Results, Window
from bench.statements import Count
from bench.versus import CONCURRENCY, CREATE_SECONDS, LATENCY, PAUSED, ROUNDS, WARMUP, WINDOW_SECONDS

TREE_VS_POSTGRAPHILE = 1.0  # Aurum's tree latency ÷ PostGraphile's, at most
TREE_VS_RAW = 3.0  # Aurum's tree latency ÷ raw's, at most
NODE_RPS = 0.5  # Aurum's node(id) rps ÷ PostGraphile's, at least
CREATE_RPS = 0.8  # Aurum's taskCreate rps ÷ PostGraphile's, at least
SIZES = ("2,000", "20,000")
WORKLOADS = ("tree 2,000", "tree 20,000", "node", "create")
PLAIN = ("plain tree 2,000", "plain tree 20,000")  # the tasks without isOverdue and canStart


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


@dataclass(frozen=True)
class TreeVerdict:
    to_postgraphile: tuple[float, float]  # Aurum ÷ PostGraphile: p50, p95
    to_raw: tuple[float, float]  # Aurum ÷ raw: p50, p95

    @property
    def met(self) -> bool:
        return max(self.to_postgraphile) <= TREE_VS_POSTGRAPHILE and max(self.to_raw) <= TREE_VS_RAW


def tree_verdict(p50: Mapping[str, float], p95: Mapping[str, float]) -> TreeVerdict:
    """The tree's target, on both the median and the 95th percentile."""
    return TreeVerdict(
        (p50[AURUM] / p50[POSTGRAPHILE], p95[AURUM] / p95[POSTGRAPHILE]),
        (p50[AURUM] / p50[FLOOR], p95[AURUM] / p95[FLOOR]),
    )


def rate_verdict(rate: Mapping[str, float], least: float) -> tuple[float, bool]:
    """Aurum's requests per second as a share of PostGraphile's, and whether it is at least ``least``."""
    ratio = rate[AURUM] / rate[POSTGRAPHILE]
    return ratio, ratio >= least


def usual(counts: Sequence[Count]) -> int:
    """The statements most requests of a workload took (one may differ: a statement prepared afresh)."""
    return statistics.mode(c.statements for c in counts)


def statements_verdict(small: Sequence[Count], large: Sequence[Count]) -> bool:
    """Aurum's tree takes as many statements for 20,000 tasks as for 2,000."""
    return usual(small) == usual(large)


def rps(windows: Sequence[Window]) -> float:
    return sum(w.sample.requests for w in windows) / sum(w.sample.seconds for w in windows)


def cpu_ms(windows: Sequence[Window], group: str) -> float:
    """CPU milliseconds of ``group`` per request over the windows: its process time ÷ the requests."""
    requests = sum(w.sample.requests for w in windows)
    return sum(w.cpu.get(group, 0.0) for w in windows) / requests * 1000


def ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def quantity(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def load(value: Load) -> str:
    return "/".join(f"{x:.2f}" for x in value)


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(
        self, label: str, cells: dict[str, str], ratios: str = "", target: str = "", ok: str = ""
    ) -> None:
        self.rows.append((label, *(cells.get(arm, "") for arm in ARMS), ratios, target, ok))

    def print(self) -> None:
        header = ("workload", *ARMS, "Aurum ÷ PG / ÷ raw", "target", "")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(len(header))]
        for row in [header, *self.rows]:
            cells = zip(row, widths, strict=True)
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells)).rstrip())


def latency_rows(table: Table, results: Results, kind: str = "tree", label: str = "nested tree") -> None:
    """The p50 / p95 and the verdict of the ``kind`` of tree (``tree``, ``plain tree``) at each size."""
    for size in SIZES:
        samples = results.latency[f"{kind} {size}"]
        p50 = {arm: statistics.median(samples[arm]) for arm in ARMS}
        p95 = {arm: percentile(samples[arm], 0.95) for arm in ARMS}
        found = tree_verdict(p50, p95)
        (pg50, pg95), (raw50, raw95) = found.to_postgraphile, found.to_raw
        table.add(
            f"{label}, {size} tasks: p50 / p95",
            {arm: f"{ms(p50[arm])} / {ms(p95[arm])} ms" for arm in ARMS},
            f"{pg50:.2f}, {pg95:.2f} / {raw50:.1f}, {raw95:.1f}",
            f"<= {TREE_VS_POSTGRAPHILE:.1f} / <= {TREE_VS_RAW:.0f}",
            mark(found.met),
        )


def rps_row(table: Table, results: Results, workload: str, label: str, least: float | None = None) -> None:
    rate = {arm: rps(results.windows[workload][arm]) for arm in ARMS}
    ratio, ok = rate_verdict(rate, least or 0.0)
    table.add(
        label,
        {arm: quantity(rate[arm]) for arm in ARMS},
        f"{ratio:.2f} / {rate[AURUM] / rate[FLOOR]:.2f}",
        f">= {least:.1f}x PG" if least is not None else "",
        mark(ok) if least is not None else "",
    )


def loaded_latency_row(table: Table, results: Results, workload: str, label: str) -> None:
    cells = {}
    for arm in ARMS:
        samples = [x for w in results.windows[workload][arm] for x in w.sample.latencies_ms]
        cells[arm] = f"{ms(statistics.median(samples))} / {ms(percentile(samples, 0.95))} ms"
    table.add(label, cells)


def cpu_rows(table: Table, results: Results) -> None:
    for group, label in (("server", "server"), ("engines", "PostgreSQL + Redis")):
        table.add(
            f"{label} CPU per request: tree 2k / 20k / node / create", cpu_cells(results, group, WORKLOADS)
        )
    worker = " / ".join(ms(cpu_ms(results.windows[w][AURUM], "worker")) for w in WORKLOADS)
    table.add("  Aurum's worker process, the same", {AURUM: worker + " ms"})
    if PLAIN[0] in results.windows:
        for group, label in (("server", "server"), ("engines", "PostgreSQL + Redis")):
            table.add(f"{label} CPU per request: plain tree 2k / 20k", cpu_cells(results, group, PLAIN))


def cpu_cells(results: Results, group: str, workloads: Sequence[str]) -> dict[str, str]:
    return {
        arm: " / ".join(ms(cpu_ms(results.windows[w][arm], group)) for w in workloads) + " ms" for arm in ARMS
    }


def plain_rows(table: Table, results: Results) -> None:
    """The plain tree's rows, their verdicts apart from the tree's."""
    if PLAIN[0] not in results.latency:
        return
    latency_rows(table, results, "plain tree", "plain tree")
    for size, workload in zip(SIZES, PLAIN, strict=True):
        rps_row(table, results, workload, f"plain tree, {size} tasks, rps at c = 8")
    for size, workload in zip(SIZES, PLAIN, strict=True):
        loaded_latency_row(table, results, workload, f"  p50 / p95 at c = 8, {size} tasks")


def statement_rows(table: Table, results: Results) -> None:
    counted = results.statements
    cells = {}
    for arm in ARMS:
        found = ({c.statements for c in counted[w][arm]} for w in WORKLOADS)
        cells[arm] = " / ".join("-".join(str(n) for n in sorted(numbers)) for numbers in found)
    ok = statements_verdict(counted["tree 2,000"][AURUM], counted["tree 20,000"][AURUM])
    table.add(
        "SQL statements per request: tree 2k / 20k / node / create", cells, "", "tree: 2k = 20k", mark(ok)
    )
    control = {arm: str(counted["tree 2,000"][arm][0].control) for arm in ARMS}
    table.add("  of which BEGIN / COMMIT (tree 2k)", control)
    if PLAIN[0] in counted:
        plain = {arm: " / ".join(str(usual(counted[w][arm])) for w in PLAIN) for arm in ARMS}
        table.add("SQL statements per request: plain tree 2k / 20k", plain)


def shapes(texts: Sequence[str]) -> list[str]:
    """Statements with their literals left out (the user's id differs between the accounts)."""
    return [re.sub(r"'[^']*'", "'…'", text) for text in texts]


def checks(results: Results) -> None:
    trees = ", ".join(f"{workload} {n:,}" for workload, n in results.tasks.items())
    print(f"\nevery arm answered the same rows in the same order (tasks: {trees}), the same node(id)")
    paths = "; ".join(
        f"{workload} {by.get('compiled', 0):,} of {sum(by.values()):,}"
        for workload, by in results.answered.items()
    )
    print(f"Aurum's requests answered by its compiled path (its /metrics): {paths}")
    small, large = (results.statements[f"tree {size}"][AURUM][-1].texts for size in SIZES)
    same = "the same at 20,000" if shapes(small) == shapes(large) else "at 20,000 they differ"
    print(f"Aurum's statements for the tree at 2,000 tasks as PostgreSQL logged them ({same}):")
    for text in small:
        print(f"  {text[:100]}")


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
        if not workload.startswith("create")  # their windows include polling Aurum's background work
    }
    shown = "; ".join(f"{workload} {cells}" for workload, cells in client.items())
    print(f"  the client's own CPU per request, us ({' / '.join(ARMS)}): {shown}")


def machine(results: Results) -> None:
    phases = results.phases.done
    print(
        f"\nmachine: {results.cpus} CPUs shared by every server, PostgreSQL, Redis, the client (and anyone "
        f"else on it); load average 1/5/15 min before and after each phase:"
    )
    width = max(len(p.name) for p in phases)
    for p in phases:
        print(f"  {p.name:{width}}  {p.seconds:5.0f} s  {load(p.before)} -> {load(p.after)}")
    print(f"this part took {results.phases.seconds:.0f} s")


def report(results: Results) -> None:
    print(
        "\nAurum next to PostGraphile 4 and raw asyncpg + orjson over HTTP: one PostgreSQL, the same rows, "
        "row-level security as aurum_app with app.user_id, one server process each (Aurum's worker in a "
        "second), arms interleaved, the others paused while one is measured; the plain tree is the tree with "
        "tasks asking only id name status dueDate (no computed fields)\n"
    )
    repetitions = ", ".join(f"{w} x{n}" for w, n in LATENCY.items())
    windows = ", ".join(f"{w} {s:.0f} s" for w, s in WINDOW_SECONDS.items())
    print(
        f"one at a time: {repetitions} per arm after {WARMUP} warm-up; concurrency {CONCURRENCY}: "
        f"{ROUNDS} windows per arm ({windows}; creates {CREATE_SECONDS:.0f} s, each arm into a fresh "
        "200-task account)\n"
    )
    table = Table()
    latency_rows(table, results)
    rps_row(table, results, "tree 2,000", "nested tree, 2,000 tasks, rps at c = 8")
    rps_row(table, results, "tree 20,000", "nested tree, 20,000 tasks, rps at c = 8")
    loaded_latency_row(table, results, "tree 2,000", "  p50 / p95 at c = 8, 2,000 tasks")
    loaded_latency_row(table, results, "tree 20,000", "  p50 / p95 at c = 8, 20,000 tasks")
    plain_rows(table, results)
    node = results.latency["node"]
    table.add(
        "node(id) of one task: p50 / p95",
        {arm: f"{ms(statistics.median(node[arm]))} / {ms(percentile(node[arm], 0.95))} ms" for arm in ARMS},
    )
    rps_row(table, results, "node", "node(id) of one task, rps at c = 8", NODE_RPS)
    rps_row(table, results, "create", "taskCreate, rps at c = 8", CREATE_RPS)
    if PAUSED in results.windows:
        paused = rps(results.windows[PAUSED][AURUM])
        table.add("  Aurum with its worker paused (no rescoring)", {AURUM: quantity(paused)})
    cpu_rows(table, results)
    statement_rows(table, results)
    table.print()
    checks(results)
    stability(results)
    machine(results)
