"""What the soak reports: latency per kind, memory per process tree, the database's counts, and the problems."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.soak.config import RESULTS, ROOT, SoakConfig
from benchmarks.soak.load import Outcome
from benchmarks.soak.processes import KIB_PER_MIB, MemorySample
from benchmarks.soak.stack import WebhookReceiver

# Answers may trail the last request by this long (or 5% of the run) before the server counts as falling behind.
FALLING_BEHIND_SECONDS = 5


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest rank: the smallest value with at least `fraction` of all values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def kind_figures(
    outcomes: list[Outcome], *, kind: str, offered_seconds: float, answered_seconds: float
) -> dict[str, Any]:
    """Latency counts from the moment a request was due, as a partner sending at this rate would see it: when
    the server falls behind, the wait for a free connection is part of it (no coordinated omission). The time
    from the actual send is given apart (`service_*`)."""
    mine = [outcome for outcome in outcomes if outcome.kind == kind]
    latencies = [(outcome.lag_seconds + outcome.latency_seconds) * 1000 for outcome in mine]
    service = [outcome.latency_seconds * 1000 for outcome in mine]
    errors = Counter(outcome.error for outcome in mine if outcome.error)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "sent": len(mine),
        "ok": len(mine) - sum(errors.values()),
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "offered_per_second": round(len(mine) / offered_seconds, 2),
        "answered_per_second": round((len(mine) - sum(errors.values())) / answered_seconds, 2),
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "max_ms": ms(max(latencies, default=None)),
        "service_p50_ms": ms(percentile(service, 0.50)),
        "service_p99_ms": ms(percentile(service, 0.99)),
    }


def memory_figures(samples: list[MemorySample], *, start: MemorySample, end: MemorySample) -> dict[str, Any]:
    return {
        "rss_start_mib": round(start.rss_mib, 1),
        "rss_end_mib": round(end.rss_mib, 1),
        "rss_growth_mib": round(end.rss_mib - start.rss_mib, 1),
        "rss_growth_percent": round((end.rss_mib / start.rss_mib - 1) * 100, 1) if start.rss_mib else None,
        "rss_peak_mib": round(max(sample.rss_mib for sample in samples), 1),
        "pss_start_mib": round(start.pss_mib, 1),
        "pss_end_mib": round(end.pss_mib, 1),
        "processes_start": len(start.rss_kib),
        "processes_end": len(end.rss_kib),
        # A pid seen only later is a replaced process (gunicorn's max_requests, a pool child's restart).
        "processes_seen": len({pid for sample in samples for pid in sample.rss_kib}),
        "by_process": [
            {
                "pid": pid,
                "command": _command(pid),
                "rss_start_mib": round(start.rss_kib[pid] / KIB_PER_MIB, 1) if pid in start.rss_kib else None,
                "rss_end_mib": round(rss / KIB_PER_MIB, 1),
            }
            for pid, rss in end.rss_kib.items()
        ],
        "timeline": [{"at_s": s.at_seconds, "rss_mib": round(s.rss_mib, 1)} for s in samples],
    }


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return ""


def database_counts(partner_id: int) -> dict[str, int]:
    """What the database holds for the soak's partner, counted apart from what the answers said."""
    from lending.models import Decision, LoanApplication, WebhookDelivery
    from monitoring.models import ScreenedTransaction

    return {
        "applications": LoanApplication.objects.filter(partner_id=partner_id).count(),
        "decisions": Decision.objects.filter(application__partner_id=partner_id, is_shadow=False).count(),
        "bookings": ScreenedTransaction.objects.filter(partner_id=partner_id).count(),
        "webhooks_delivered": WebhookDelivery.objects.filter(
            partner_id=partner_id, status=WebhookDelivery.Status.DELIVERED
        ).count(),
    }


def report_build(
    config: SoakConfig,
    *,
    outcomes: list[Outcome],
    durations: dict[str, float],
    memory: dict[str, Any],
    stored: dict[str, int],
    expected: dict[str, int],
    receiver: WebhookReceiver,
) -> dict[str, Any]:
    """The figures, and the problems that make the soak fail: any failed request, a server that could not keep
    the rate, a count in the database that differs from the answers, a webhook with a bad signature."""
    offered = {"warmup": config.warmup_seconds, "soak": config.seconds}
    figures = {
        phase: {
            kind: kind_figures(
                [outcome for outcome in outcomes if outcome.phase == phase],
                kind=kind,
                offered_seconds=offered[phase],
                answered_seconds=durations[phase],
            )
            for kind in ("decision", "screening")
        }
        for phase in ("warmup", "soak")
    }
    problems = [
        f"{count} failed {kind} requests{'' if phase == 'soak' else ' in the warm-up'}"
        for phase, by_kind in figures.items()
        for kind, figures_of_kind in by_kind.items()
        if (count := figures_of_kind["errors"])
    ]
    if durations["soak"] > config.seconds + max(FALLING_BEHIND_SECONDS, config.seconds * 0.05):
        problems.append(
            f"the server fell behind: {config.seconds:g} s of requests took {durations['soak']:.0f} s to answer "
            "(lower the rates, or give it more cores)"
        )
    problems += [
        f"{name}: {stored[name]} stored, {expected[name]} expected"
        for name in expected
        if stored[name] != expected[name]
    ]
    if receiver.bad_signatures:
        problems.append(f"{receiver.bad_signatures} webhooks with a bad signature")
    return {
        "config": {**asdict(config), "database_url": config.database_url.rsplit("@", 1)[-1]},
        "cores": os.cpu_count(),
        "seconds_offered": config.seconds,
        "seconds_to_last_answer": round(durations["soak"], 1),
        "load": figures["soak"],
        "warmup": figures["warmup"],
        "memory": memory,
        "database": stored,
        "expected": expected,
        "webhooks": {"received": len(receiver.deliveries), "bad_signatures": receiver.bad_signatures},
        "problems": problems,
    }


def report_print(report: dict[str, Any]) -> None:
    config = report["config"]
    print(
        f"\nFinAI soak: {report['seconds_offered']:g} s at {config['decisions_per_second']:g} decisions/s and "
        f"{config['screening_batches_per_second']:g} screening batches/s of {config['screening_batch_size']} "
        f"bookings (answered in {report['seconds_to_last_answer']:g} s); gunicorn (2 workers), Celery worker "
        f"(concurrency {config['worker_concurrency']}, beat), Postgres, Redis; {report['cores']} cores"
    )
    print(
        f"{'kind':<10} {'sent':>6} {'2xx':>6} {'errors':>6} {'offered/s':>9} {'answered/s':>10} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  (latency from when each request was due)"
    )
    for kind, figures in report["load"].items():
        print(
            f"{kind:<10} {figures['sent']:>6} {figures['ok']:>6} {figures['errors']:>6} "
            f"{figures['offered_per_second']:>9} {figures['answered_per_second']:>10} {figures['p50_ms']!s:>8} "
            f"{figures['p99_ms']!s:>8} {figures['max_ms']!s:>8}  {figures['errors_by_kind'] or ''}"
        )
    print(
        f"{'memory':<10} {'RSS start':>10} {'RSS end':>10} {'growth':>10} {'peak':>10} "
        f"{'PSS start':>10} {'PSS end':>10}"
    )
    for name, figures in report["memory"].items():
        print(
            f"{name:<10} {figures['rss_start_mib']:>6} MiB {figures['rss_end_mib']:>6} MiB "
            f"{figures['rss_growth_mib']:>+6} MiB {figures['rss_peak_mib']:>6} MiB {figures['pss_start_mib']:>6} MiB "
            f"{figures['pss_end_mib']:>6} MiB  ({figures['rss_growth_percent']:+}%; {figures['processes_end']} "
            f"processes, {figures['processes_seen']} seen)"
        )
    print(f"database: {report['database']}\nexpected: {report['expected']} (from the answers)")
    print(f"webhooks received with a valid signature: {report['webhooks']['received']}")
    for problem in report["problems"]:
        print(f"PROBLEM: {problem}")
    print(f"written to {RESULTS.relative_to(ROOT)}")
