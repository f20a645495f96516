"""Many people asking at once, through the page's API on a real `app.py`: each
gets the answer their question gets when asked alone, by either route.

Every user asks the same question at the same moment (what once wedged the
shared question encoder), 50 by one plain POST each and 50 through Gradio's
queue and event stream, as gradio_client and the page go.
"""

import asyncio
import json

import httpx
import pytest

from tests.test_app import app_server

USERS = 50
QUESTIONS = [
    "What did Pistorius say about international law?",
    "How many North Korean troops are thought to be involved?",
    "Who is the UK Defence Secretary?",
    "What did Healey say about the Indo-Pacific?",
    "What did Baroness Chapman say about the defence of Ukraine?",
    "who is lord stirup?",
    "What did Pistorius say about South Korea?",
    "What is the capital of France?",  # an abstention is an answer too
]
HANG_GUARD_SECONDS = 180  # the crowd takes seconds; a wedged server, forever

pytestmark = pytest.mark.slow  # servers started, fifty users at once


@pytest.fixture(scope="module")
def load_server(article_index, tmp_path_factory):
    with app_server(article_index.path, tmp_path_factory.mktemp("load-tmp"), "app-load.log") as url:
        yield url


def shown(answer: dict) -> tuple:
    """What a reader of an answer sees: its words and the passages cited (scores
    are left out: a batch of questions encodes to the last bit differently)."""
    return answer["answer"], [(c["doc_id"], c["start"], c["end"]) for c in answer["citations"]]


async def plain(client: httpx.AsyncClient, url: str, question: str):
    reply = await client.post(f"{url}gradio_api/run/ask", json={"data": [question]})
    return shown(reply.json()["data"][0]) if reply.status_code == 200 else f"HTTP {reply.status_code}: {reply.text}"


async def queued(client: httpx.AsyncClient, url: str, question: str):
    reply = await client.post(f"{url}gradio_api/call/ask", json={"data": [question]})
    if reply.status_code != 200:
        return f"HTTP {reply.status_code}: {reply.text}"
    kind = None
    async with client.stream("GET", f"{url}gradio_api/call/ask/{reply.json()['event_id']}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                data = json.loads(line[5:])
                return shown(data[0]) if kind == "complete" else f"error event: {data}"
    return "the stream ended without an answer"


async def asked(route, client: httpx.AsyncClient, url: str, question: str):
    """What came back, or the error that did."""
    try:
        return await route(client, url, question)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"


async def crowd(url: str) -> list[tuple[str, str, object]]:
    """USERS users on each route, each asking every question in turn: (route,
    question, what came back) for each question answered within HANG_GUARD_SECONDS."""
    got = []
    # A connection left idle as long as the server keeps it (uvicorn: 5 s) may be
    # closed by the server just as it is reused, failing that request: drop it sooner.
    limits = httpx.Limits(max_connections=2 * USERS, max_keepalive_connections=2 * USERS, keepalive_expiry=2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        async def user(route) -> None:
            for question in QUESTIONS:
                got.append((route.__name__, question, await asked(route, client, url, question)))

        users = [asyncio.create_task(user(route)) for route in (plain, queued) for _ in range(USERS)]
        _, waiting = await asyncio.wait(users, timeout=HANG_GUARD_SECONDS)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
    return got


def test_fifty_users_at_once_on_each_route_each_get_the_answer_asked_alone(load_server):
    with httpx.Client(timeout=60) as client:
        alone = {q: shown(client.post(f"{load_server}gradio_api/run/ask", json={"data": [q]}).json()["data"][0])
                 for q in QUESTIONS}
    got = asyncio.run(crowd(load_server))
    wrong = [(route, q, answer) for route, q, answer in got if answer != alone[q]]
    total = 2 * USERS * len(QUESTIONS)
    assert len(got) == total and not wrong, (
        f"{len(got) - len(wrong)} of {total} questions got the answer they get asked alone within "
        f"{HANG_GUARD_SECONDS} s, {len(wrong)} another: {wrong[:3]}")
