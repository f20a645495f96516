"""Sessions: one browser tab's conversation, its uploads and the questions waiting their turn."""

import asyncio
import itertools
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import rag
from rag.documents import without_surrogates

# A session nobody has used for this long is closed even if its tab never said goodbye.
SESSION_TTL_SECONDS = 6 * 3600
# Questions one session may send while an answer is being written; more are refused, not queued.
MAX_WAITING = 3
@dataclass
class Session:
    """What one browser session owns: its messages, uploads and their index, and
    the answer behind each answer message and sources block (by position)."""

    directory: Path | None = None
    uploads: list[rag.Document] = field(default_factory=list)
    index: rag.Index | None = None
    messages: list[dict] = field(default_factory=list)  # the chat as shown; the page's copy follows it
    asked: list[str] = field(default_factory=list)  # as typed: rag.ask reads follow-ups against them
    answers: dict[int, tuple[str, rag.Index, rag.Answer]] = field(default_factory=dict)
    used: float = field(default_factory=time.monotonic)
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))  # of answers, for their links
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False
    stop: threading.Event = field(default_factory=threading.Event)  # ends the model's draft being written
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # one answer at a time, in the order asked
    building: threading.Lock = field(default_factory=threading.Lock)  # one index build at a time
    # Position of each question in the chat -> (the question as typed, how many had been answered before it).
    questions: dict[int, tuple[str, int]] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)  # questions sent while an answer was being written
    # Questions sent and not yet taken up, oldest first: a State read when the answer
    # starts could be overwritten by a second send meanwhile.
    inbox: list[str] = field(default_factory=list)

    def post(self, *messages: dict) -> int:
        """Add messages to the chat; the position of the first. An answer and an
        upload's notice may arrive at once: each keeps the positions it got."""
        with self.lock:
            self.messages += messages
            return len(self.messages) - len(messages)

    def replace(self, chat: list[dict], at: int, message: dict) -> None:
        """Put `message` at `at` in `chat`, unless the reader has cleared that chat since."""
        with self.lock:
            if self.messages is chat:
                chat[at] = message

    def forget_conversation(self) -> None:
        with self.lock:
            self.messages, self.asked, self.answers, self.questions = [], [], {}, {}
            self.stop.set()  # a draft being written for the cleared chat is not wanted

    def send(self, question: str) -> None:
        """A question to answer, in the order sent (see `inbox`)."""
        # A lone surrogate (from a broken JSON string) cannot be sent back to the
        # page: the whole chat, shown again with every answer, would fail to encode.
        self.inbox.append(without_surrogates(question))

    def back_to(self, at: int) -> str | None:
        """Drop the question at `at` and everything after it, as if never asked (to ask
        it again, or edited); the question as it was typed, or None if `at` is not one."""
        with self.lock:
            if at not in self.questions:
                return None
            question, answered_before = self.questions[at]
            self.messages = self.messages[:at]  # a new list: answers still arriving for the old one are dropped
            self.asked = self.asked[:answered_before]
            self.answers = {k: v for k, v in self.answers.items() if k < at}
            self.questions = {k: v for k, v in self.questions.items() if k < at}
            self.stop.set()  # a model still writing for what was dropped stops
            return question

    def close(self) -> None:
        self.closed = True
        self.stop.set()  # a model writing for this tab stops
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)


class Sessions:
    """Sessions by Gradio's session hash, closed when the tab goes away (or after
    SESSION_TTL_SECONDS unused), so uploads and their indexes do not outlive it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_hash: dict[str, Session] = {}

    def get(self, request) -> Session:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, s in self._by_hash.items() if now - s.used > SESSION_TTL_SECONDS]:
                self._by_hash.pop(key).close()
            session = self._by_hash.setdefault(request.session_hash, Session())
            session.used = now
            return session

    def close(self, request) -> None:
        with self._lock:
            session = self._by_hash.pop(request.session_hash, None)
        if session:
            session.close()


