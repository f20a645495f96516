"""Running a function in many threads at once, for the concurrency tests."""

import threading
import time


def run_threads(n: int, work, *, limit: float = 600) -> list:
    """`work(i)` for i in range(n), each in its own thread, all at once; the
    results in order. A thread that raises fails the test with its error; one
    still running after `limit` seconds fails it as hung (daemon threads, so a
    hung one cannot keep the test run from ending either)."""
    results, errors = [None] * n, []

    def one(i):
        try:
            results[i] = work(i)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + limit
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    hung = sum(t.is_alive() for t in threads)
    assert not hung, f"{hung} of {n} threads never returned"
    if errors:
        raise errors[0]
    return results
