"""Many people asking at once: load on the chat page's API.

Starts `app.py` on a free localhost port (or drives `--url`), then runs
`--users` simulated users for `--seconds`: each asks a question from the
article question sets, waits for the answer, and asks the next at once (no
think time, so this is the most load that many users can make). An answer
that differs from the one its question gets asked alone is an error. Prints
errors, answers per second and latency percentiles; writes
bench/results/load.json.

Routes:
- `run` (default): one POST to /gradio_api/run/ask, as a program calls the API;
- `queue`: POST /gradio_api/call/ask, then read the event stream, the way
  `gradio_client` and the page itself go through Gradio's queue.

The load generator runs on the same machine as the server, so the figures
include its own CPU use. Bounded: at most 500 users, 600 seconds, localhost only
unless --url says otherwise.

Usage: .venv/bin/python bench/load.py [--users 50] [--seconds 60] [--route run|queue] [--url URL]
"""

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, percentile, start_app, write_result  # noqa: E402

WARM_UP_SECONDS = 3


def questions() -> list[str]:
    rows = []
    for name in ("article_dev.jsonl", "article_natural_dev.jsonl"):
        rows += [json.loads(line) for line in (ROOT / "tests/data" / name).read_text().splitlines()]
    return [r["question"] for r in rows if not r.get("history")]


def shown(answer: dict) -> tuple:
    """What a reader sees of an answer: its words and the passages it cites."""
    return answer["answer"], [(c["doc_id"], c["start"], c["end"]) for c in answer["citations"]]


async def ask_run(client, url: str, question: str, session: str) -> dict:
    reply = await client.post(f"{url}gradio_api/run/ask", json={"data": [question]})  # a program's plain POST
    reply.raise_for_status()
    return reply.json()["data"][0]


async def ask_queued(client, url: str, question: str, session: str) -> dict:
    reply = await client.post(f"{url}gradio_api/call/ask", json={"data": [question], "session_hash": session})
    reply.raise_for_status()
    event, kind = reply.json()["event_id"], None
    async with client.stream("GET", f"{url}gradio_api/call/ask/{event}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind == "complete":
                return json.loads(line[5:])[0]
            elif line.startswith("data:") and kind == "error":
                raise RuntimeError(f"error event {line[5:].strip()}")
    raise RuntimeError("the stream ended without an answer")


async def load(url: str, users: int, seconds: float, route: str, alone: dict) -> dict:
    """`users` users asking at once for `seconds`; an answer that is not the one
    its question gets asked alone (`alone`) counts as an error."""
    import httpx

    asked = questions()
    ask = ask_run if route == "run" else ask_queued
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    measure_from, stop_at = started + WARM_UP_SECONDS, started + WARM_UP_SECONDS + seconds

    async def user(n: int, client) -> None:
        i, session = n, uuid.uuid4().hex  # each user a session of its own, as gradio_client sends
        while time.perf_counter() < stop_at:
            question = asked[i % len(asked)]
            i += users
            begin = time.perf_counter()
            try:
                why = None if shown(await ask(client, url, question, session)) == alone[question] else "wrong answer"
            except Exception as exc:  # a failure to count, whatever it is
                why = f"{type(exc).__name__}: {exc}"
            end = time.perf_counter()
            if begin >= measure_from and end <= stop_at:
                latencies.append((end - begin) * 1000)
                if why:
                    errors.append(why)

    # A connection left idle as long as the server keeps it (uvicorn: 5 s) may be
    # closed by the server just as it is reused, failing that request: drop it sooner.
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users, keepalive_expiry=2)
    cpu = time.process_time()
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(user(n, client) for n in range(users)))
    cpu = time.process_time() - cpu
    return {
        "users": users, "seconds": seconds, "route": route, "answers": len(latencies) - len(errors),
        "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
        "answers_per_s": (len(latencies) - len(errors)) / seconds,
        "p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99), "max_ms": max(latencies, default=0.0),
        "generator_cpu_share": cpu / (time.perf_counter() - started),  # of one core, warm-up included
    }


def answers_alone(url: str) -> dict:
    """Each question's answer asked with nobody else asking: what every answer under load must be."""
    import httpx

    with httpx.Client(timeout=60) as client:
        return {q: shown(client.post(f"{url}gradio_api/run/ask", json={"data": [q]}).json()["data"][0])
                for q in questions()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--route", choices=["run", "queue"], nargs="+", default=["run", "queue"])
    parser.add_argument("--url", help="a running page to drive (default: start app.py here)")
    args = parser.parse_args()
    if not all(1 <= u <= 500 for u in args.users) or not 1 <= args.seconds <= 600:
        raise SystemExit("load: error: --users must be 1–500 and --seconds 1–600")

    proc, url, _ = (None, args.url.rstrip("/") + "/", 0) if args.url else start_app()
    runs = []
    try:
        alone = answers_alone(url)
        for route in args.route:
            for users in args.users:
                run = asyncio.run(load(url, users, args.seconds, route, alone))
                runs.append(run)
                print(f"{route:5} {users:3} users: {run['answers']:6} answers, {run['errors']} errors, "
                      f"{run['answers_per_s']:6.1f}/s, p50 {run['p50_ms']:6.1f} ms, p90 {run['p90_ms']:6.1f} ms, "
                      f"p99 {run['p99_ms']:6.1f} ms; the generator used {run['generator_cpu_share']:.0%} of a core",
                      flush=True)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=20)
    if not args.url:
        print("wrote", write_result("load", {"machine": machine(), "questions": len(questions()), "runs": runs}))


if __name__ == "__main__":
    main()
