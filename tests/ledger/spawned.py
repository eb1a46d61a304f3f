"""Worker processes started at once (spawned, a barrier between them) against one store; each
puts one report `(worker, what it saw, error or "")` on the queue it is given."""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Sequence


def run_spawned(target: Callable, arguments: Sequence[tuple], timeout: float = 120) -> list[tuple]:
    """Run `target(*args, start, results)` in one process per entry of `arguments`; their
    reports, once every worker has reported. A worker's error fails the caller's test."""
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(len(arguments)), spawn.Queue()
    workers = [spawn.Process(target=target, args=(*args, start, results)) for args in arguments]
    for worker in workers:
        worker.start()
    reports = []
    try:
        for _ in workers:
            reports.append(results.get(timeout=timeout))
    except queue.Empty:
        raise AssertionError(f"only {len(reports)} of {len(workers)} workers reported within {timeout:.0f} s") from None
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    failures = [error for _, _, error in reports if error]
    assert not failures, "a worker failed:\n" + "\n".join(failures)
    return reports
