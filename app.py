"""The chat page: ask the documents, see the quoted answer and its sources.

    python app.py [--host 127.0.0.1] [--port 7860] [--index DIR] [--share]

Built on the `rag` library only; no retrieval logic lives here. Every answer
carries its own sources (a collapsed block under it; its `[n]` markers open the
source they cite) and the side panel shows the sources of the answer last asked
or clicked. Each browser session may upload its own .txt/.md/.html/.pdf files:
they are indexed, with the bundled documents, into a directory of that
session's own, deleted with Gradio's copies of the uploads when the tab closes;
other sessions never see them.

The page's API (usable with `gradio_client`, or one plain POST to
`/gradio_api/run/ask`) has two endpoints, `/ask` and `/retrieve`, returning the
same data as `rag.ask` and `rag.retrieve` as JSON; a call with inputs they
cannot take is answered 4xx with what was wrong.

Everything the server writes (Gradio's copies of uploads, each session's
index) goes in a folder of its own inside $GRADIO_TEMP_DIR or the system's
temporary folder, removed when it stops (Ctrl-C or SIGTERM).

Left out: accounts, saved conversations, uploads larger than the page can index
in a few seconds (`rag index` takes any size).
"""

import argparse
import asyncio
import html
import importlib.util
import itertools
import json
import os
import re
import reprlib
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from an offline tool
# After each queued event Gradio sums up its last 10,000 with pandas, for a
# monitoring page this app does not serve: a tenth of the server's time when
# many ask through the queue. Once in a billion events is never.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**9))
if importlib.util.find_spec("matplotlib") is None:
    # Gradio tries `import matplotlib` twice around every call, in its event
    # loop; when it is not installed, each try searches sys.path again (a tenth
    # of the server's time under load). Known absent, the import fails at once.
    sys.modules["matplotlib"] = None

import rag  # noqa: E402
from rag.chunking import paragraphs  # noqa: E402
from rag.config import MAX_FILE_BYTES  # noqa: E402
from rag.documents import SUPPORTED_SUFFIXES, without_surrogates  # noqa: E402

EXAMPLES = [
    "What did Pistorius say about international law?",
    "What did Healey say about the Indo-Pacific?",
    "How many North Korean troops are thought to be involved?",
    "What did Baroness Chapman say about the defence of Ukraine?",
]
# API calls computed at once: more only contend for the cores and the GIL and
# make the slowest of many concurrent users' answers much slower (with 50 users:
# p99 about 0.9 s at 8, over 2 s unbounded; BENCHMARKS.md).
API_AT_ONCE = 8
# A session nobody has used for this long is closed even if its tab never said goodbye.
SESSION_TTL_SECONDS = 6 * 3600
# What one upload may hold: about 10 s of indexing on two cores (BENCHMARKS.md).
MAX_UPLOAD_CHARS = 300_000
# Checked before a file is read: reading a large web page costs seconds a megabyte.
# Room for 300,000 characters of text in a page's markup or a PDF's layout.
MAX_UPLOAD_BYTES = 5 * 2**20
MAX_SESSION_FILES = 20
# Questions one session may send while an answer is being written; more are refused, not queued.
MAX_WAITING = 3
CHECK_MARK = '<span class="checked" title="checked against the source it cites">✓</span>'
WRITING = '<p class="empty">The sources of the answer being written appear here once it is checked.</p>'
PLACEHOLDER = '<p class="empty">Sources of an answer appear here, with the answering words highlighted.</p>'

CSS = """
.source { border-left: 3px solid var(--color-accent); padding: 0.2rem 0 0.2rem 0.75rem; margin-bottom: 1rem; }
.source.flash { outline: 2px solid var(--color-accent); outline-offset: 4px; }
.source-head { font-size: 0.9em; margin-bottom: 0.3rem; }
.source .marker { font-weight: 700; }
/* Dark text on the yellow in both schemes: the theme's text colour is near-white in dark mode. */
.source mark { background: #ffe58a; color: #1b1b1b; padding: 0 0.1em; }
.source .context { line-height: 1.5; margin: 0; }
#sources .empty { opacity: 0.7; }
.checked { color: var(--color-accent); font-weight: 700; }
#chat .doc { font-size: 0.85em; opacity: 0.85; }
#chat .bubble-wrap { padding-top: 2.5rem; }  /* room for the chat's clear button: it floats over the first line */
a.cite { color: inherit; font-weight: 700; text-decoration: underline 2px var(--color-accent); text-underline-offset: 3px; }
#chat .thought-group { min-width: min(34rem, 100%); }
#chat .thought-group .content .message-content, #chat .thought-group .content .md { opacity: 1; }  /* sources, not asides */
@media (max-width: 760px) { #sources-column { display: none; } }  /* each answer's own sources are right under it */
"""

# Clicking a marker [n] opens the sources under its answer and shows source n
# there and in the side panel; copying a message copies what it shows, with
# plain [n] markers, not its markup.
HEAD = """<script>
(() => {
  const flash = (el) => { el.scrollIntoView({block: "nearest"}); el.classList.add("flash");
                          setTimeout(() => el.classList.remove("flash"), 1600); };
  const when = (find, then, tries = 40) => { const el = find();
    if (el) then(el); else if (tries) setTimeout(() => when(find, then, tries - 1), 50); };
  document.addEventListener("click", (e) => {
    const cite = e.target.closest && e.target.closest("#chat a.cite");
    if (cite) {
      e.preventDefault();  // the chat's select event still tells the server which answer this is
      const id = cite.getAttribute("href").slice(1);
      const row = cite.closest(".message-row");
      let next = row && row.nextElementSibling;
      while (next && !next.querySelector(".thought-group")) next = next.nextElementSibling;
      if (next && !document.getElementById(id)) next.querySelector(".thought-group .title")?.click();
      when(() => document.getElementById(id), flash);
      when(() => document.getElementById("panel-" + id), flash);
      return;
    }
    const copy = e.target.closest && e.target.closest("#chat .message-buttons button");
    if (copy && /copy/i.test(copy.getAttribute("aria-label") || "")) {
      const shown = copy.closest(".message-buttons")?.previousElementSibling;
      if (!shown || !navigator.clipboard) return;  // plain http off localhost: Gradio's own copy
      e.preventDefault(); e.stopPropagation();
      navigator.clipboard.writeText(shown.innerText.trim());
    }
  }, true);
  // A question just sent goes to the top of the chat, in view, and its answer grows
  // under it: at 200% zoom or on a phone the answer is what shows, not the page's foot.
  const follow = () => {
    const chat = document.getElementById("chat");
    if (!chat) return setTimeout(follow, 200);
    let seen = 0;
    new MutationObserver(() => {
      const asked = chat.querySelectorAll(".message-row.user-row");
      if (asked.length > seen) asked[asked.length - 1].scrollIntoView({block: "start"});
      seen = asked.length;
    }).observe(chat, {childList: true, subtree: true});
  };
  follow();
  // Buttons Gradio leaves unnamed get a name a screen reader can say.
  const name = () => {
    document.querySelectorAll('#question button[data-testid="submit-button"]:not([aria-label])')
      .forEach((b) => b.setAttribute("aria-label", "Ask"));
    document.querySelectorAll('#chat button.icon-button[aria-label=""]')
      .forEach((b) => b.setAttribute("aria-label", "Show or hide the sources"));
  };
  new MutationObserver(name).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>"""


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


def loaded_line(index: rag.Index) -> str:
    shown = list(index.catalog.items())[:5]  # the manifest's titles: no document is read for this line
    titles = "; ".join(f"*{_md(d.get('title') or doc_id)}*" for doc_id, d in shown)
    if len(index.catalog) > len(shown):
        titles += f" and {len(index.catalog) - len(shown):,} more"
    return f"**Loaded:** {titles} — {len(index.passages)} passages from {len(index.documents)} document(s)."


def sources_html(index: rag.Index, answer: rag.Answer | None, key: str = "", *, prefix: str = "") -> str:
    """The cited passages, each in its paragraphs with the answering words
    highlighted; card n has the id `{prefix}{key}-s{n}`, which `[n]` links to."""
    if answer is None:
        return PLACEHOLDER
    if answer.abstained:
        return '<p class="empty">No sources: the documents don\'t say.</p>'
    blocks = []
    for n, p in enumerate(answer.citations, 1):
        doc = index.documents[p.doc_id]
        spans = paragraphs(doc.text)
        at = next((i for i, (s, e) in enumerate(spans) if s <= p.start < e), 0)
        start = spans[max(at - 1, 0)][0]
        end = spans[min(at + 1, len(spans) - 1)][1]
        context = (_paragraphs_html(doc.text[start:p.start]) + "<mark>" + html.escape(p.text) + "</mark>"
                   + _paragraphs_html(doc.text[p.end:end]))
        who = f" · {html.escape(p.speaker)}" if p.speaker else ""
        where = html.escape(f"{doc.id}, characters {p.start}–{p.end}", quote=True)
        blocks.append(
            f'<div class="source" id="{prefix}{key}-s{n}"><div class="source-head" title="{where}">'
            f'<span class="marker">[{n}]</span> <b>{html.escape(doc.title or doc.id)}</b>{who}'
            f" · paragraph {at + 1} of {len(spans)}</div>"
            f'<p class="context">{context}</p></div>'
        )
    return "\n".join(blocks)


def answer_markdown(text: str, answer: rag.Answer, key: str, labels: dict[int, str] | None = None) -> str:
    """`text` (the answer, or the part of it streamed so far) as shown: the
    document's words literal, each citation marker a link to its source, and
    after it the source's document when the answer cites more than one."""
    out, done = [], 0
    for start, end, n in answer.markers():
        if end > len(text):
            break
        out += [_md(text[done:start]), cite_link(key, n, labels)]
        done = end
    return "".join(out) + _md(text[done:])


def cite_link(key: str, n: int, labels: dict[int, str] | None = None) -> str:
    label = (labels or {}).get(n)
    return f'<a class="cite" href="#{key}-s{n}">[{n}]</a>' + (f' <span class="doc">({_md(label)})</span>' if label else "")


def document_labels(answer: rag.Answer) -> dict[int, str]:
    """Citation number -> its document (the file's name), when an answer cites more
    than one document: which sentence comes from which is then said, not left to guess."""
    docs = [p.doc_id for p in answer.citations]
    return dict(enumerate(docs, 1)) if len(set(docs)) > 1 else {}


def written_markdown(answer: rag.Answer, key: str, model: str, labels: dict[int, str] | None = None) -> str:
    """An answer a model was asked to write: its sentences, each with its
    citation links and a mark that it was checked, and a note of what was
    dropped; or, when the model's answer was not used, the quoted answer and why."""
    if not answer.generated:
        return (answer_markdown(answer.text, answer, key, labels) + f"\n\n<small>{_md(answer.note.capitalize())}.</small>"
                + dropped_html(answer.dropped))
    parts = []
    for s in answer.sentences:
        body = re.sub(r"(\s*\[\d+\])+$", "", s.text)
        links = "".join(" " + cite_link(key, n, labels) for n in s.citations)
        mark = " " + CHECK_MARK if s.verified else ""
        parts.append(_md(body) + links + mark)
    return " ".join(parts) + (f"\n\n<small>Written by {_md(model)}; each ✓ sentence was checked against the "
                              f"source it cites.</small>") + dropped_html(answer.dropped)


def dropped_html(dropped) -> str:
    """The sentences the check dropped, each with why, in a block the reader may open."""
    if not dropped:
        return ""
    items = "".join(f"<li>“{html.escape(d.text)}”: {html.escape(d.why)}</li>" for d in dropped)
    n = len(dropped)
    return (f'\n\n<details class="dropped"><summary>{n} sentence{"s" if n > 1 else ""} the model wrote '
            f'{"were" if n > 1 else "was"} dropped: not supported by {"their" if n > 1 else "its"} sources</summary>'
            f"<ul>{items}</ul></details>")


def writing_markdown(progress, model: str) -> str:
    """A written answer while the model writes: how far it is, and only the
    sentences that have already passed the check."""
    if progress is None:
        return f"*{_md(model)} is writing… each sentence is shown once it has been checked against its sources.*"
    done = f"{len(progress.kept)} sentence{'' if len(progress.kept) == 1 else 's'} checked"
    shown = "".join(f"\n\n{_md(c.text)} {CHECK_MARK}" for c in progress.kept)
    return f"*{_md(model)} is writing… {progress.words} words, {done}.*{shown}" + dropped_html(progress.dropped)


def your_documents(session: "Session"):
    """The list of this session's uploads, each one a box to tick for removal, and
    whether the list (and its button) shows at all."""
    import gradio as gr

    names = [d.id for d in session.uploads]
    return gr.update(choices=names, value=[]), gr.update(visible=bool(names))


def _shown_question(question: str) -> str:
    """A question as its chat bubble shows it: a long one cut, with its length."""
    return question if len(question) <= 300 else question[:300] + f"… ({len(question):,} characters)"


def _unescaped(markdown: str) -> str:
    """What `_md` escaped, as typed again (an edited question comes back as shown)."""
    return re.sub(r"\\([\\`*_{}\[\]()#+!|<>~$])", r"\1", markdown).replace("&amp;", "&")


def waiting_line(waiting: list[str]) -> str:
    """Under the box: the questions sent while an answer is being written, asked in turn."""
    if not waiting:
        return ""
    shown = "; ".join(f"“{_md(q if len(q) <= 80 else q[:80] + '…')}”" for q in waiting)
    return f"**Waiting:** asked next, once the answer being written is done: {shown}"


def _paragraphs_html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _md(text: str) -> str:
    """Text shown literally in Markdown: no emphasis, links, maths or HTML from documents."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~$])", r"\\\1", text.replace("&", "&amp;"))


def _reworded(asked: str, understood: str) -> bool:
    """Whether the question was understood as something other than what was typed
    (not just without its leading "and" or in another case)."""
    def plain(q: str) -> str:
        return re.sub(r"^(and|so|also|but)\b\W*", "", q.strip().casefold())
    return plain(asked) != plain(understood)


class BadInput(ValueError):
    """An input the API cannot take; the message says what was wrong."""


def _question(value) -> str:
    try:
        return rag.check_question(value)
    except rag.RagError as exc:
        raise BadInput(str(exc)) from None


def _whole_number(k) -> int:
    """k as a program may send it: 5, 5.0 or "5"."""
    if isinstance(k, str) and k.strip().isdecimal():
        k = int(k)
    elif isinstance(k, float) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise BadInput(f"k must be a whole number of at least 1, not {reprlib.repr(k)}")
    return k


API_CHECKS = {"question": _question, "k": _whole_number}  # the API's parameters, by name


class CheckedApi:
    """ASGI middleware: a call to the API naming no endpoint, or with inputs its
    endpoint cannot take, is answered 404 or 422 with what was wrong. Gradio
    would answer it 500 `{"error": null}` (queued: accept it, then send that as
    an error event) and log a traceback.

    Checks POSTs to /gradio_api/run/NAME, /api/NAME and /call/NAME (inputs by
    position, in `data`) and /call/v2/NAME (by name); the page's own events,
    which name theirs by number (`fn_index`), pass unchecked. And a stream
    asked for an event that does not exist (or whose result was read already)
    ends quietly after Gradio's "404: Not Found" in it, not with a traceback."""

    ROUTE = re.compile(r"/gradio_api/(run|api|call|call/v2)/([^/]+)/?")
    MAX_BODY = 64 * 1024  # a question is at most 1,000 characters

    def __init__(self, app, blocks):
        self.app, self.blocks, self._endpoints = app, blocks, None

    async def __call__(self, scope, receive, send):
        route = scope["type"] == "http" and scope["method"] == "POST" and self.ROUTE.fullmatch(scope["path"])
        if route:
            body = await _request_body(receive, self.MAX_BODY)
            problem = (413, f"the request is over {self.MAX_BODY:,} bytes") if body is None else \
                self.problem(route[1], route[2], body)
            if problem:
                from starlette.responses import Response

                status, message = problem
                # json.dumps escapes what is not ASCII: a lone surrogate sent in the call too.
                return await Response(json.dumps({"error": message}), status, media_type="application/json")(
                    scope, receive, send)
            receive = _replayed(body, receive)
        try:
            await self.app(scope, receive, send)
        except RuntimeError as exc:
            from starlette.exceptions import HTTPException

            if not isinstance(exc.__cause__, HTTPException):
                raise
            # Gradio found the event unknown once its stream had begun, and said so in
            # it; Starlette, too late to answer 404, raises. The stream just ends.
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    def problem(self, route: str, name: str, body: bytes) -> tuple[int, str] | None:
        """(HTTP status, what was wrong) for a call that cannot be answered."""
        try:
            call = json.loads(body)
        except ValueError:
            return None  # FastAPI answers 422, saying where the JSON broke
        if not isinstance(call, dict) or call.get("fn_index") is not None:
            return None
        endpoints = self.endpoints()
        if f"/{name}" not in endpoints:
            return 404, f"no endpoint /{name}; the API has {', '.join(endpoints)}"
        parameters = endpoints[f"/{name}"]["parameters"]
        names = [p["parameter_name"] for p in parameters]
        if route == "call/v2":
            from gradio_client.utils import construct_args

            try:  # Gradio's own reading of named inputs, defaults filled in
                values = construct_args(parameters, (), call)
            except TypeError as exc:
                return 422, str(exc)
        elif isinstance(call.get("data"), list):
            values = call["data"]
        else:
            return None  # FastAPI answers 422: `data` missing or not a list
        if len(values) != len(names):
            sent = f"{len(values)} input{'s' * (len(values) != 1)}"
            return 422, f"/{name} takes [{', '.join(names)}]; the call sent {sent}"
        try:
            for parameter, value in zip(names, values):
                API_CHECKS[parameter](value)
        except BadInput as exc:
            return 422, str(exc)
        return None

    def endpoints(self) -> dict:
        """Gradio's description of the API (names, parameters, defaults), read once it is complete."""
        if self._endpoints is None:
            self._endpoints = self.blocks.get_api_info()["named_endpoints"]
        return self._endpoints


async def _request_body(receive, limit: int) -> bytes | None:
    """The whole body of a request, or None when it is over `limit` bytes."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > limit:
            return None
    return body


def _replayed(body: bytes, receive):
    """A `receive` that hands the app the body already read, then whatever comes next."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def start_loading(index_dir: str | None, generator: str | None = None) -> Future:
    """Open the index in a thread, while Gradio is imported (the slower of the
    two); the models warm up after it, while the page is already served."""
    opened: Future = Future()

    def load():
        try:
            base = rag.load_index(index_dir)
        except BaseException as exc:  # handed to whoever waits on it
            opened.set_exception(exc)
            return
        opened.set_result(base)
        try:
            rag.ask(EXAMPLES[0], base)  # load the model and search structures before the first question
            if generator:
                from rag.generation import generator_for

                generator_for(generator)
        except rag.RagError:
            pass  # a question asked later reports it

    threading.Thread(target=load, name="load-index", daemon=True).start()
    return opened


def build_app(index_dir: str | None = None, *, loading: Future | None = None, generator: str | None = None):
    """The page; with `generator` (a model, as `rag ask --generate` takes), a
    switch to have it write the answers (the question box's button stops it while it writes)."""
    import anyio
    import gradio as gr

    loading = loading or start_loading(index_dir)
    sessions = Sessions()
    answering = asyncio.Semaphore(API_AT_ONCE)

    def base() -> rag.Index:
        return loading.result()

    model_name = Path(generator.split("#")[-1]).name if generator else ""

    def index_for(session: Session) -> rag.Index:
        return session.index or base()

    def box(write: bool) -> dict:
        """The question box's button: Stop while a model writes, else Ask."""
        writing = bool(write and generator)
        return dict(submit_btn=not writing, stop_btn="Stop" if writing else False)

    def take(message, write, request: gr.Request):
        """Send: the question goes into the session's inbox and the box is emptied, once,
        here. A question too long to ask, or one more than may wait, stays in the box."""
        session = sessions.get(request)
        message = message or ""
        if session.turn.locked() and len(session.waiting) + len(session.inbox) >= MAX_WAITING:
            return (gr.update(**box(write)), waiting_line(session.waiting) +
                    f" At most {MAX_WAITING} wait: send yours once one is answered.")
        session.send(message)
        too_long = len(message) > rag.config.MAX_QUESTION_CHARS
        return gr.update(**box(write)) if too_long else gr.update(value="", **box(write)), gr.update()

    def answered_all(request: gr.Request):
        """Ask again, once no question of this session is being answered or waiting."""
        session = sessions.get(request)
        busy = session.turn.locked() or session.waiting or session.inbox
        return gr.update() if busy else gr.update(**box(False))

    async def respond(write=False, request: gr.Request = None):
        session = sessions.get(request)
        if not session.inbox:
            return  # nothing to ask: a retry or an edit of what is not a question
        message = session.inbox.pop(0)
        if session.turn.locked():
            # Sent while another answer is being written: it waits its turn (holding no
            # thread), and the page says so.
            session.waiting.append(message)
            yield gr.update(), gr.update(), waiting_line(session.waiting)
        async with session.turn:
            if message in session.waiting:
                session.waiting.remove(message)
            async for update in answer_one(message, write, session):
                yield update

    async def answer_one(message: str, write: bool, session: Session):
        messages = session.messages
        posted = session.post({"role": "user", "content": _md(_shown_question(message) or " ")})
        session.questions[posted] = (message, len(session.asked))
        drafted = None  # where the answer being written is shown, when a model writes
        try:
            index = index_for(session)
            asked = rag.check_question(message)
            if write and generator:
                session.stop = stop = threading.Event()  # before anything is shown: a Stop click finds it
                drafted = session.post({"role": "assistant", "content": writing_markdown(None, model_name)})
                yield list(messages), WRITING, waiting_line(session.waiting)
                answer = None
                async for update in written(asked, index, session, messages, drafted, stop):
                    if isinstance(update, rag.Answer):
                        answer = update
                    else:
                        yield update
            else:
                history = list(session.asked)
                async with answering:
                    answer = await anyio.to_thread.run_sync(lambda: rag.ask(asked, index, history=history))
        except rag.RagError as exc:
            reply = {"the question is empty": "Please type a question about the documents."}.get(str(exc), f"Sorry: {exc}.")
            answer = None
        if session.messages is not messages:
            return  # the reader cleared the chat while this was answered
        if answer is None:
            if drafted is None:
                session.post({"role": "assistant", "content": _md(reply)})
            else:
                session.replace(messages, drafted, {"role": "assistant", "content": _md(reply)})
            yield list(messages), gr.update(), waiting_line(session.waiting)
            return
        # The answer's question is as understood: follow-up made whole, typos and other names mended.
        # All of it: rag.ask reads the last few, and a regenerate or an edit cuts it back by position.
        session.asked = session.asked + [asked]
        prefix = f"*Understood as: {_md(answer.question)}*\n\n" if _reworded(asked, answer.question) else ""
        key = f"a{next(session.numbers)}"
        labels = document_labels(answer)
        block = [] if answer.abstained else [{"role": "assistant", "content": sources_html(index, answer, key),
                                              "metadata": {"title": f"Sources ({len(answer.citations)})", "status": "done"}}]
        if drafted is None:
            at = session.post({"role": "assistant", "content": prefix}, *block)
            positions = list(range(at, at + 1 + len(block)))
        else:  # the checked answer replaces the progress shown while it was written
            at = drafted
            positions = [at] + ([session.post(*block)] if block else [])
        for position in positions:
            session.answers[position] = (key, index, answer)
        if answer.generated or answer.note:
            session.replace(messages, at, {"role": "assistant",
                                           "content": prefix + written_markdown(answer, key, model_name, labels)})
            yield list(messages), sources_html(index, answer, key, prefix="panel-"), waiting_line(session.waiting)
            return
        words = re.split(r"(?<=\s)", answer.text)
        for i in range(0, len(words), 4):  # stream a few words at a time, as people expect of a chat
            if session.messages is not messages:
                return  # the reader cleared the chat meanwhile
            session.replace(messages, at, {"role": "assistant",
                                           "content": prefix + answer_markdown("".join(words[: i + 4]), answer, key,
                                                                               labels)})
            yield list(messages), gr.update(), waiting_line(session.waiting)
            await asyncio.sleep(0.015)
        yield list(messages), sources_html(index, answer, key, prefix="panel-"), waiting_line(session.waiting)

    async def written(asked: str, index: rag.Index, session: Session, messages: list[dict], at: int,
                      stop: threading.Event):
        """Ask with the model, showing at `at` how far it is and the sentences that
        passed the check so far (never its unchecked words); the answer comes last."""
        progress: list = []
        done: Future = Future()

        def work():
            try:
                done.set_result(rag.ask(asked, index, history=session.asked, generator=generator,
                                        on_progress=progress.append, stop=stop))
            except BaseException as exc:  # handed to the page below
                done.set_exception(exc)

        threading.Thread(target=work, name="rag-write", daemon=True).start()
        shown = None
        try:
            while not done.done():
                if progress and progress[-1] is not shown and session.messages is messages:
                    shown = progress[-1]
                    session.replace(messages, at, {"role": "assistant", "content": writing_markdown(shown, model_name)})
                    yield list(messages), gr.update(), waiting_line(session.waiting)
                await asyncio.sleep(0.1)
        finally:
            if not done.done():
                stop.set()  # the page went away (closed, or the event cancelled): the model stops writing
        try:
            yield done.result()
        except rag.RagError:
            raise
        except Exception as exc:  # said in the chat: never leave the progress standing as the answer
            raise rag.RagError(f"the model failed ({type(exc).__name__}); untick the switch to have the answer "
                               "quoted") from None

    def ask_again(evt: gr.RetryData, write, request: gr.Request):
        """Regenerate: the question's answer (and what came after it) goes, and it is asked again."""
        session = sessions.get(request)
        question = session.back_to(evt.index)
        if question is not None:
            session.send(question)
        return gr.update(**box(write))

    def edited(evt: gr.EditData, write, request: gr.Request):
        """A question edited in place: what came after it goes, and the new wording is asked."""
        session = sessions.get(request)
        question = session.back_to(evt.index)
        if question is not None:
            # The chat showed the question escaped (and cut, if long): unedited parts are the typed ones.
            edited_text = _unescaped(evt.value)
            session.send(question if edited_text == _unescaped(_md(_shown_question(question))) else edited_text)
        return gr.update(**box(write))

    def stop_writing(request: gr.Request):
        sessions.get(request).stop.set()

    def show_sources(evt: gr.SelectData, request: gr.Request):
        """The side panel follows the answer the reader clicks."""
        chosen = sessions.get(request).answers.get(evt.index)
        if chosen is None:
            return gr.update()
        key, index, answer = chosen
        return sources_html(index, answer, key, prefix="panel-")

    def clear(request: gr.Request):
        """A fresh start: no messages, no sources, no conversation to read follow-ups against."""
        sessions.get(request).forget_conversation()
        return [], PLACEHOLDER

    def upload(files, request: gr.Request):
        session = sessions.get(request)
        files = [Path(f) for f in (files or [])]
        if not files:
            yield list(session.messages), gr.update(), gr.update(value=None), gr.update(), gr.update()
            return
        bundled = list(base().documents.values())
        good, problems = [], []
        for path in files:
            name = path.name
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                problems.append(f"{name}: unsupported file type (use {', '.join(sorted(SUPPORTED_SUFFIXES))})")
            elif (size := path.stat().st_size) > MAX_UPLOAD_BYTES:
                problems.append(f"{name}: too large to index here ({size / 2**20:.1f} MB; the page takes files up to "
                                f"{MAX_UPLOAD_BYTES // 2**20} MB; rag index on the command line takes any size)")
            elif len(session.uploads) + len(good) >= MAX_SESSION_FILES:
                problems.append(f"{name}: this session already holds {MAX_SESSION_FILES} files, the most it may")
            else:
                good.append(path)
        added = []
        for path in good:
            try:
                [doc] = rag.load_documents([path])
            except rag.RagError as exc:
                problems.append(str(exc).replace(str(path), path.name))
                continue
            if len(doc.text) > MAX_UPLOAD_CHARS:
                problems.append(f"{path.name}: too long to index here ({len(doc.text):,} characters of text; "
                                f"the page takes up to {MAX_UPLOAD_CHARS:,}; rag index takes any size)")
                continue
            same = next((d for d in bundled + session.uploads + added if d.sha256 == doc.sha256), None)
            if same is not None:  # the same text under any name: indexed once
                problems.append(f"{path.name}: the same text as {same.id}, already here")
                continue
            doc = rag.Document(id=_unique_id(doc.id, bundled + session.uploads + added), text=doc.text,
                               title=doc.title, source=path.name)
            added.append(doc)
        _discard(files)  # read into memory: Gradio's copies are no longer needed
        if added:
            names = ", ".join(_md(d.id) for d in added)
            chat = session.messages
            at = session.post({"role": "assistant", "content": f"📄 Indexing **{names}**… ask away meanwhile."})
            yield list(session.messages), gr.update(), gr.update(value=None), gr.update(), gr.update()
            outcome = yield from reindexed(session, lambda uploads: uploads + added, chat, at, f"Indexing **{names}**")
            if outcome is None:
                return  # the tab went away meanwhile
            if not isinstance(outcome, Exception):
                count = sum(1 for p in session.index.passages if p.doc_id in {d.id for d in added})
                done = f"📄 Indexed **{names}** ({count} passages). Ask me about it."
            else:
                done = f"⚠️ Couldn't index {names}: {_md(str(outcome))}."
            session.replace(chat, at, {"role": "assistant", "content": done})
        for problem in problems:
            session.post({"role": "assistant", "content": f"⚠️ Couldn't use {_md(problem)}."})
        yield list(session.messages), loaded_line(index_for(session)), gr.update(value=None), *your_documents(session)

    def reindexed(session: Session, change, chat: list[dict], at: int, doing: str):
        """The session's uploads changed by `change(uploads)` and indexed with the bundled
        documents into its own index (none left: the bundled one), showing at `at` how
        far it is; the outcome (an exception saying why not), or None when the tab
        closed meanwhile. The uploads are read and set under the session's build lock:
        an upload and a removal take turns, neither undoes the other."""
        with session.building:
            uploads = change(list(session.uploads))
            if not uploads:
                session.uploads, session.index = [], None
                return True
            if session.directory is None:
                session.directory = Path(tempfile.mkdtemp(prefix="rag-session-"))
            done: Future = Future()
            counted: list[tuple[int, int]] = []
            docs = list(base().documents.values()) + uploads

            def work():
                try:
                    done.set_result(rag.build_index(docs, session.directory / "index", embedder=base().embedder(),
                                                    on_progress=lambda n, total: counted.append((n, total))))
                except (rag.RagError, OSError) as exc:  # OSError: a full disk, or the tab closed meanwhile
                    done.set_result(exc)
                if session.closed:  # the tab went away meanwhile: nobody owns the folder any more
                    session.close()

            threading.Thread(target=work, name="rag-upload", daemon=True).start()
            shown = None
            while not done.done():
                if counted and counted[-1] != shown:
                    shown = n, total = counted[-1]
                    session.replace(chat, at, {"role": "assistant", "content":
                                    f"📄 {doing}: {n:,} of {total:,} passages embedded ({n / total:.0%})… "
                                    "ask away meanwhile."})
                    yield list(session.messages), gr.update(), gr.update(), gr.update(), gr.update()
                time.sleep(0.2)
            if session.closed:
                return None
            outcome = done.result()
            if not isinstance(outcome, Exception):
                session.uploads, session.index = uploads, outcome
            return outcome

    def remove(chosen, request: gr.Request):
        """Take the chosen uploads out of this session's index: answers stop citing them."""
        session = sessions.get(request)
        gone = [d for d in session.uploads if d.id in (chosen or [])]
        if not gone:
            yield list(session.messages), gr.update(), gr.update(), *your_documents(session)
            return
        names = ", ".join(_md(d.id) for d in gone)
        chat = session.messages
        at = session.post({"role": "assistant", "content": f"📄 Removing **{names}**…"})
        yield list(session.messages), gr.update(), gr.update(), gr.update(), gr.update()
        outcome = yield from reindexed(session, lambda uploads: [d for d in uploads if d not in gone], chat, at,
                                       f"Removing **{names}**")
        if outcome is None:
            return  # the tab went away meanwhile
        if isinstance(outcome, Exception):
            session.replace(chat, at, {"role": "assistant", "content": f"⚠️ Couldn't remove {names}: {_md(str(outcome))}."})
        else:
            session.replace(chat, at, {"role": "assistant",
                                       "content": f"📄 Removed **{names}**: answers no longer cite it."})
        yield list(session.messages), loaded_line(index_for(session)), gr.update(), *your_documents(session)

    async def api_ask(question: str = "") -> dict:
        """Answer a question from the bundled documents: quoted, cited sentences or an abstention."""
        question = checked("question", question)
        answer = await computed(lambda: rag.ask(question, base()))
        return answer.to_json()

    async def api_retrieve(question: str, k: int = 5) -> list[dict]:
        """The k passages that best match the question, with offsets, speakers and scores."""
        question, k = checked("question", question), checked("k", k)
        passages = await computed(lambda: rag.retrieve(question, k=k, index=base()))
        return [p.to_json() for p in passages]

    def checked(parameter: str, value):
        """An input as CheckedApi checks plain calls: gradio_client's come here unchecked."""
        try:
            return API_CHECKS[parameter](value)
        except BadInput as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    async def computed(work):
        """`work()` in a worker thread, at most API_AT_ONCE at a time. Calls
        beyond that wait in the event loop, not in a thread, so the page's own
        events always find one."""
        async with answering:
            try:
                return await anyio.to_thread.run_sync(work)
            except rag.RagError as exc:
                raise gr.Error(str(exc), print_exception=False) from None

    def tab_closed(request: gr.Request):
        sessions.close(request)

    def loaded(request: gr.Request):
        try:
            return loaded_line(index_for(sessions.get(request)))
        except rag.RagError as exc:
            return f"**Cannot open the documents:** {_md(str(exc))}."

    with gr.Blocks(title="Ask the documents", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        gr.Markdown("## Ask the documents\nEvery answer is quoted from the documents and cited; "
                    "when they don't say, you'll be told so.")
        status = gr.Markdown("**Loading the documents…**", elem_id="loaded", latex_delimiters=[])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                # As tall as the window leaves room for: the latest answer and the box stay in view
                # at 200% zoom and on a phone (the header and the box take about 13rem).
                chatbot = gr.Chatbot(label="Chat", height="max(14rem, calc(100dvh - 13rem))", elem_id="chat",
                                     buttons=["copy"], show_label=False, autoscroll=False, editable="user",
                                     group_consecutive_messages=False, latex_delimiters=[])
                question = gr.Textbox(placeholder="Ask a question about the documents…", show_label=False,
                                      submit_btn=True, elem_id="question", max_lines=4)
                queued = gr.Markdown("", elem_id="queued", latex_delimiters=[])
                write = gr.Checkbox(label=f"Have {model_name} write the answer (each sentence is checked "
                                          "against the source it cites; unsupported ones are dropped)",
                                    value=False, elem_id="write", visible=bool(generator))
                examples = gr.Examples(EXAMPLES, inputs=question, label="Try")
                # A short label: a long one wraps over the drop zone's own words on a phone.
                files = gr.File(label="Add your own documents", file_count="multiple", type="filepath",
                                elem_id="upload", height=140)
                gr.Markdown(f"<small>.txt, .md, .html or .pdf; up to {MAX_UPLOAD_BYTES // 2**20} MB and "
                            f"{MAX_UPLOAD_CHARS:,} characters each.</small>", elem_id="upload-limits")
                with gr.Column(visible=False, elem_id="yours") as yours:
                    mine = gr.CheckboxGroup(label="Your documents (this session only)", choices=[], elem_id="mine")
                    drop = gr.Button("Remove the ticked documents", elem_id="remove", size="sm", variant="secondary")
            with gr.Column(scale=2, min_width=340, elem_id="sources-column"):
                gr.Markdown("### Sources")
                sources = gr.HTML(PLACEHOLDER, elem_id="sources")

        demo.load(loaded, None, status, api_visibility="private")
        # The box is emptied once, on send, and is never an output while answers stream:
        # what the reader types meanwhile stays. A question sent while an answer is being
        # written waits its turn (trigger_mode="multiple": Gradio's default drops it).
        answer_events = dict(fn=respond, inputs=[write], outputs=[chatbot, sources, queued],
                             api_visibility="private", concurrency_limit=None, show_progress="hidden",
                             trigger_mode="multiple")
        sent = question.submit(take, [question, write], [question, queued], api_visibility="private", queue=False,
                               trigger_mode="multiple")
        sent.then(**answer_events).then(answered_all, None, question, api_visibility="private", queue=False,
                                        trigger_mode="multiple")
        examples.load_input_event.then(take, [question, write], [question, queued], api_visibility="private",
                                       queue=False).then(**answer_events).then(
            answered_all, None, question, api_visibility="private", queue=False)
        question.stop(stop_writing, None, None, api_visibility="private", queue=False)
        # Regenerate an answer, or edit a question and send it again (the chat's own buttons).
        for event, fn in ((chatbot.retry, ask_again), (chatbot.edit, edited)):
            event(fn, write, question, api_visibility="private", queue=False).then(**answer_events).then(
                answered_all, None, question, api_visibility="private", queue=False)
        chatbot.select(show_sources, None, sources, api_visibility="private", queue=False)
        chatbot.clear(clear, None, [chatbot, sources], api_visibility="private", queue=False)
        # The progress bar on the upload box only: the chat stays usable while a file is indexed.
        # Progress shows in the chat, where the reader is looking, not on the upload box.
        files.upload(upload, [files], [chatbot, status, files, mine, yours], api_visibility="private",
                     concurrency_limit=2, show_progress="hidden")
        drop.click(remove, [mine], [chatbot, status, files, mine, yours], api_visibility="private", concurrency_limit=2,
                   show_progress="hidden")
        demo.unload(tab_closed)
        # Through the queue (gradio_client, /call/...) as by a plain POST, `computed`
        # bounds the work: a queue limit too (the default, 4) would only make the
        # encoder's batches smaller and the wait longer.
        gr.api(api_ask, api_name="ask", queue=False, concurrency_limit=None)
        gr.api(api_retrieve, api_name="retrieve", queue=False, concurrency_limit=None)
    return demo


def _unique_id(doc_id: str, existing: list[rag.Document]) -> str:
    taken = {d.id for d in existing}
    unique, n = doc_id, 2
    while unique in taken:
        unique, n = f"{doc_id}~{n}", n + 1
    return unique


def _discard(files: list[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()  # Gradio keeps each upload in a folder of its own
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description="Chat with your documents, offline.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--index", metavar="DIR", help="index directory (default: the bundled article)")
    parser.add_argument("--share", action="store_true", help="ask Gradio for a public share link")
    parser.add_argument("--generate", metavar="MODEL", default=rag.config.default_generator(),
                        help="offer answers written by this model, checked sentence by sentence: a transformers "
                             "model directory, a .gguf file or openai:URL#NAME (default: $RAG_GENERATOR)")
    args = parser.parse_args()
    temp = own_temp_dir()  # before Gradio and ONNX Runtime are imported: they read it once
    # Stopped as by Ctrl-C: Gradio closes the server, then its folder is removed. SIGINT
    # too, explicitly: started from a script in the background, a process inherits
    # SIGINT ignored, and Python then leaves it ignored (a clean-clone CI run hung so).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        serve(args)
    except KeyboardInterrupt:
        pass  # stopped before the page was served
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def own_temp_dir() -> Path:
    """A new folder for everything this process writes while it serves, inside
    $GRADIO_TEMP_DIR or the system's temporary folder: Gradio's copies of
    uploads go there, and all that `tempfile` makes (each session's index), and
    what libraries put in $TMPDIR (ONNX Runtime's .ses file)."""
    parent = os.environ.get("GRADIO_TEMP_DIR")
    if parent:
        os.makedirs(parent, exist_ok=True)
    own = tempfile.mkdtemp(prefix="rag-app-", dir=parent)
    os.environ["GRADIO_TEMP_DIR"] = os.environ["TMPDIR"] = tempfile.tempdir = own
    return Path(own)


def serve(args: argparse.Namespace) -> None:
    """Serve the page until Ctrl-C or SIGTERM."""
    loading = start_loading(args.index, args.generate)
    import gradio as gr
    from starlette.middleware import Middleware

    demo = build_app(args.index, loading=loading, generator=args.generate)
    try:
        loading.result()  # a missing or corrupt index is reported here, before the page is served
    except rag.RagError as exc:
        raise SystemExit(f"app: error: {exc}")
    theme = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    demo.queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, share=args.share, max_file_size=MAX_FILE_BYTES,
        theme=theme, css=CSS, head=HEAD, footer_links=["api"], show_error=False,
        app_kwargs={"middleware": [Middleware(CheckedApi, blocks=demo)]},
    )


if __name__ == "__main__":
    main()
