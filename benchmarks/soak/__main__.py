"""`python -m benchmarks.soak` (`make soak`): set up, warm up, hold the load, count, report, and stop everything."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from benchmarks.soak.config import RESULTS, SoakConfig, SoakError
from benchmarks.soak.figures import database_counts, memory_figures, report_build, report_print
from benchmarks.soak.load import Outcome, load_run
from benchmarks.soak.processes import MemoryWatch, Processes
from benchmarks.soak.stack import WebhookReceiver, stack_start


@contextlib.contextmanager
def _signals_handled(handler: Any) -> Iterator[None]:
    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, restored in previous.items():
            signal.signal(number, restored)


def _interrupt(signum: int, frame: object) -> None:
    """Ctrl-C and SIGTERM (a CI runner's stop) take one way out, through the clean-up. SIGINT is set explicitly:
    a shell that starts the soak in the background leaves it ignored, and Python keeps it so."""
    raise KeyboardInterrupt


def soak(config: SoakConfig, processes: Processes, receiver: WebhookReceiver, stop: threading.Event) -> dict[str, Any]:
    """Warm up, then the measured load with memory sampled around it; then count what the database holds."""
    stack = stack_start(config, processes, receiver)
    print(f"soak: warming up for {config.warmup_seconds:g} s, then {config.seconds:g} s of load")
    outcomes: list[Outcome] = []
    warming = time.monotonic()
    load_run(stack.traffic, outcomes, phase="warmup", seconds=config.warmup_seconds, stop=stop)
    durations = {"warmup": time.monotonic() - warming}
    started = time.monotonic()
    roots = {"web": stack.web_pid, "worker": stack.worker_pid}
    with MemoryWatch(roots, every=config.sample_seconds, started=started) as watch:
        first = watch.sample()
        try:
            load_run(stack.traffic, outcomes, phase="soak", seconds=config.seconds, stop=stop)
        finally:
            last = watch.sample()  # the end: before the worker's backlog is drained
    durations["soak"] = time.monotonic() - started
    processes.check_alive()

    answered = [outcome for outcome in outcomes if not outcome.error]
    decided = sum(outcome.kind == "decision" for outcome in answered)
    screened = sum(outcome.kind == "screening" for outcome in answered) * config.screening_batch_size
    expected = {"applications": decided, "decisions": decided, "bookings": screened, "webhooks_delivered": decided}
    deadline = time.monotonic() + config.drain_seconds  # the worker delivers the last webhooks
    while (stored := database_counts(stack.partner_id))["webhooks_delivered"] < decided:
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    memory = {name: memory_figures(watch.samples[name], start=first[name], end=last[name]) for name in roots}
    return report_build(
        config,
        outcomes=outcomes,
        durations=durations,
        memory=memory,
        stored=stored,
        expected=expected,
        receiver=receiver,
    )


def main() -> int:
    config = SoakConfig.from_environment()
    processes, stop = Processes(), threading.Event()
    receiver = WebhookReceiver()
    threading.Thread(target=receiver.serve_forever, name="soak-webhooks", daemon=True).start()
    try:
        with _signals_handled(_interrupt):
            report = soak(config, processes, receiver, stop)
    except KeyboardInterrupt:
        print("\nsoak: interrupted; stopping gunicorn and the worker", file=sys.stderr)
        return 130
    except SoakError as error:
        print(f"soak: {error}", file=sys.stderr)
        return 2
    finally:
        stop.set()  # the pacing threads, if an error left them running
        with _signals_handled(signal.SIG_IGN):  # a second Ctrl-C must not leave gunicorn or the worker behind
            exits = processes.stop_all()
        receiver.shutdown()
        if exits:
            print(f"soak: stopped {', '.join(f'{name} ({code})' for name, code in exits.items())}", file=sys.stderr)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    report_print(report)
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
