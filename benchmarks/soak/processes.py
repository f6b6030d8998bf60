"""The processes the soak starts, stopped on every way out, and their resident memory read from /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchmarks.soak.config import ROOT, WORK, SoakError

STOP_TIMEOUT_SECONDS = 45  # gunicorn's graceful timeout (30 s) and a margin
KIB_PER_MIB = 1024


def _children_by_parent() -> dict[int, list[int]]:
    """Every process's children, read once from /proc (the parent id is the 4th field of /proc/<pid>/stat)."""
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # it exited meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree[parent].append(int(entry.name))
    return tree


def process_tree(root: int) -> list[int]:
    """The process and all its descendants: gunicorn's master and workers, Celery's main process, pool and beat."""
    tree, found, frontier = _children_by_parent(), [], [root]
    while frontier:
        pid = frontier.pop()
        found.append(pid)
        frontier.extend(tree.get(pid, ()))
    return sorted(found)


def _kib(path: Path, label: str) -> int:
    """One `Label:   1234 kB` line of a /proc file, in KiB; 0 when the process has gone."""
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            if line.startswith(label):
                return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class MemorySample:
    """Resident memory of a process tree. RSS counts pages shared between processes (gunicorn forks its workers
    from a preloaded master) once per process, as `ps` does; PSS splits them, so its sum is what the tree costs."""

    at_seconds: float
    rss_kib: dict[int, int]  # by pid
    pss_kib: dict[int, int]

    @classmethod
    def read(cls, root: int, *, started: float) -> MemorySample:
        pids = process_tree(root)
        return cls(
            round(time.monotonic() - started, 1),
            {pid: _kib(Path(f"/proc/{pid}/status"), "VmRSS:") for pid in pids},
            {pid: _kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss:") for pid in pids},
        )

    @property
    def rss_mib(self) -> float:
        return sum(self.rss_kib.values()) / KIB_PER_MIB

    @property
    def pss_mib(self) -> float:
        return sum(self.pss_kib.values()) / KIB_PER_MIB


class MemoryWatch:
    """Samples the two process trees every SOAK_SAMPLE_SECONDS on a thread of its own."""

    def __init__(self, roots: dict[str, int], *, every: float, started: float) -> None:
        self.roots, self.every, self.started = roots, every, started
        self.samples: dict[str, list[MemorySample]] = {name: [] for name in roots}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-memory", daemon=True)

    def sample(self) -> dict[str, MemorySample]:
        taken = {name: MemorySample.read(root, started=self.started) for name, root in self.roots.items()}
        for name, sample in taken.items():
            self.samples[name].append(sample)
        return taken

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Processes:
    """The processes this soak starts, each in its own session, so Ctrl-C reaches only this script, which stops
    them in order; whatever does not stop in time is killed with its whole process group."""

    def __init__(self) -> None:
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str], *, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (WORK / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.started[name] = process
        return process

    def check_alive(self) -> None:
        for name, process in self.started.items():
            if process.poll() is not None:
                raise SoakError(f"The {name} process exited with status {process.returncode}: see {WORK / name}.log")

    def stop_all(self) -> dict[str, int | None]:
        """SIGTERM (gunicorn and Celery both finish what they are doing), then SIGKILL for the group."""
        for process in self.started.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        exits: dict[str, int | None] = {}
        for name, process in self.started.items():
            try:
                exits[name] = process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                exits[name] = None
            # A pool child orphaned by a crash would outlive its parent: the group goes with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self.started.clear()
        return exits
