"""Layout: the Gradio page, its examples, style and script, and the wiring of its events."""

import asyncio
import re
import threading
from concurrent.futures import Future
from pathlib import Path

import anyio

import rag
from rag.page import EXAMPLES, import_gradio
from rag.page.api import API_CHECKS, BadInput
from rag.page.rendering import (
    PLACEHOLDER,
    WRITING,
    answer_markdown,
    document_labels,
    loaded_line,
    md,
    reworded,
    shown_question,
    sources_html,
    unescaped,
    waiting_line,
    writing_markdown,
    written_markdown,
)
from rag.page.sessions import MAX_WAITING, Session, Sessions
from rag.page.uploads import (
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_CHARS,
    UploadEvents,
)

gr = import_gradio()

# API calls computed at once: more only contend for the cores and the GIL and
# make the slowest of many concurrent users' answers much slower (with 50 users:
# p99 about 0.9 s at 8, over 2 s unbounded; BENCHMARKS.md).
API_AT_ONCE = 8
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


class Page(UploadEvents):
    """What the page does, one method per event: a question sent, answered (quoted
    or written by a model and checked), asked again or edited; sources shown;
    files added and removed (`uploads.UploadEvents`); a tab closed; the API's two endpoints. `build_app`
    lays the page out and wires these to it."""

    def __init__(self, loading: Future, generator: str | None = None):
        self.loading, self.generator = loading, generator
        self.sessions = Sessions()
        self.answering = asyncio.Semaphore(API_AT_ONCE)
        self.model_name = Path(generator.split("#")[-1]).name if generator else ""

    def base(self) -> rag.Index:
        return self.loading.result()

    def index_for(self, session: Session) -> rag.Index:
        return session.index or self.base()

    def box(self, write: bool) -> dict:
        """The question box's button: Stop while a model writes, else Ask."""
        writing = bool(write and self.generator)
        return dict(submit_btn=not writing, stop_btn="Stop" if writing else False)

    def take(self, message, write, request: gr.Request):
        """Send: the question goes into the session's inbox and the box is emptied, once,
        here. A question too long to ask, or one more than may wait, stays in the box."""
        session = self.sessions.get(request)
        message = message or ""
        if session.turn.locked() and len(session.waiting) + len(session.inbox) >= MAX_WAITING:
            return (gr.update(**self.box(write)), waiting_line(session.waiting) +
                    f" At most {MAX_WAITING} wait: send yours once one is answered.")
        session.send(message)
        too_long = len(message) > rag.config.MAX_QUESTION_CHARS
        return gr.update(**self.box(write)) if too_long else gr.update(value="", **self.box(write)), gr.update()

    def answered_all(self, request: gr.Request):
        """Ask again, once no question of this session is being answered or waiting."""
        session = self.sessions.get(request)
        busy = session.turn.locked() or session.waiting or session.inbox
        return gr.update() if busy else gr.update(**self.box(False))

    async def respond(self, write=False, request: gr.Request = None):
        session = self.sessions.get(request)
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
            async for update in self.answer_one(message, write, session):
                yield update

    async def answer_one(self, message: str, write: bool, session: Session):
        messages = session.messages
        posted = session.post({"role": "user", "content": md(shown_question(message) or " ")})
        session.questions[posted] = (message, len(session.asked))
        drafted = None  # where the answer being written is shown, when a model writes
        try:
            index = self.index_for(session)
            asked = rag.check_question(message)
            if write and self.generator:
                session.stop = stop = threading.Event()  # before anything is shown: a Stop click finds it
                drafted = session.post({"role": "assistant", "content": writing_markdown(None, self.model_name)})
                yield list(messages), WRITING, waiting_line(session.waiting)
                answer = None
                async for update in self.written(asked, index, session, messages, drafted, stop):
                    if isinstance(update, rag.Answer):
                        answer = update
                    else:
                        yield update
            else:
                history = list(session.asked)
                async with self.answering:
                    answer = await anyio.to_thread.run_sync(lambda: rag.ask(asked, index, history=history))
        except rag.RagError as exc:
            reply = {"the question is empty": "Please type a question about the documents."}.get(str(exc), f"Sorry: {exc}.")
            answer = None
        if session.messages is not messages:
            return  # the reader cleared the chat while this was answered
        if answer is None:
            if drafted is None:
                session.post({"role": "assistant", "content": md(reply)})
            else:
                session.replace(messages, drafted, {"role": "assistant", "content": md(reply)})
            yield list(messages), gr.update(), waiting_line(session.waiting)
            return
        # The answer's question is as understood: follow-up made whole, typos and other names mended.
        # All of it: rag.ask reads the last few, and a regenerate or an edit cuts it back by position.
        session.asked = session.asked + [asked]
        prefix = f"*Understood as: {md(answer.question)}*\n\n" if reworded(asked, answer.question) else ""
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
                                           "content": prefix + written_markdown(answer, key, self.model_name, labels)})
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

    async def written(self, asked: str, index: rag.Index, session: Session, messages: list[dict], at: int,
                      stop: threading.Event):
        """Ask with the model, showing at `at` how far it is and the sentences that
        passed the check so far (never its unchecked words); the answer comes last."""
        progress: list = []
        done: Future = Future()

        def work():
            try:
                done.set_result(rag.ask(asked, index, history=session.asked, generator=self.generator,
                                        on_progress=progress.append, stop=stop))
            except BaseException as exc:  # handed to the page below
                done.set_exception(exc)

        threading.Thread(target=work, name="rag-write", daemon=True).start()
        shown = None
        try:
            while not done.done():
                if progress and progress[-1] is not shown and session.messages is messages:
                    shown = progress[-1]
                    session.replace(messages, at, {"role": "assistant", "content": writing_markdown(shown, self.model_name)})
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

    def ask_again(self, evt: gr.RetryData, write, request: gr.Request):
        """Regenerate: the question's answer (and what came after it) goes, and it is asked again."""
        session = self.sessions.get(request)
        question = session.back_to(evt.index)
        if question is not None:
            session.send(question)
        return gr.update(**self.box(write))

    def edited(self, evt: gr.EditData, write, request: gr.Request):
        """A question edited in place: what came after it goes, and the new wording is asked."""
        session = self.sessions.get(request)
        question = session.back_to(evt.index)
        if question is not None:
            # The chat showed the question escaped (and cut, if long): unedited parts are the typed ones.
            edited_text = unescaped(evt.value)
            session.send(question if edited_text == unescaped(md(shown_question(question))) else edited_text)
        return gr.update(**self.box(write))

    def stop_writing(self, request: gr.Request):
        self.sessions.get(request).stop.set()

    def show_sources(self, evt: gr.SelectData, request: gr.Request):
        """The side panel follows the answer the reader clicks."""
        chosen = self.sessions.get(request).answers.get(evt.index)
        if chosen is None:
            return gr.update()
        key, index, answer = chosen
        return sources_html(index, answer, key, prefix="panel-")

    def clear(self, request: gr.Request):
        """A fresh start: no messages, no sources, no conversation to read follow-ups against."""
        self.sessions.get(request).forget_conversation()
        return [], PLACEHOLDER

    async def api_ask(self, question: str = "") -> dict:
        """Answer a question from the bundled documents: quoted, cited sentences or an abstention."""
        question = self.checked("question", question)
        answer = await self.computed(lambda: rag.ask(question, self.base()))
        return answer.to_json()

    async def api_retrieve(self, question: str, k: int = 5) -> list[dict]:
        """The k passages that best match the question, with offsets, speakers and scores."""
        question, k = self.checked("question", question), self.checked("k", k)
        passages = await self.computed(lambda: rag.retrieve(question, k=k, index=self.base()))
        return [p.to_json() for p in passages]

    def checked(self, parameter: str, value):
        """An input as CheckedApi checks plain calls: gradio_client's come here unchecked."""
        try:
            return API_CHECKS[parameter](value)
        except BadInput as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    async def computed(self, work):
        """`work()` in a worker thread, at most API_AT_ONCE at a time. Calls
        beyond that wait in the event loop, not in a thread, so the page's own
        events always find one."""
        async with self.answering:
            try:
                return await anyio.to_thread.run_sync(work)
            except rag.RagError as exc:
                raise gr.Error(str(exc), print_exception=False) from None

    def tab_closed(self, request: gr.Request):
        self.sessions.close(request)

    def loaded(self, request: gr.Request):
        try:
            return loaded_line(self.index_for(self.sessions.get(request)))
        except rag.RagError as exc:
            return f"**Cannot open the documents:** {md(str(exc))}."


def build_app(loading: Future, *, generator: str | None = None):
    """The page over the index `loading` will hold (`server.start_loading`); with
    `generator` (a model, as `rag ask --generate` takes), a switch to have it
    write the answers (the question box's button stops it while it writes)."""
    page = Page(loading, generator)
    model_name = page.model_name

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

        demo.load(page.loaded, None, status, api_visibility="private")
        # The box is emptied once, on send, and is never an output while answers stream:
        # what the reader types meanwhile stays. A question sent while an answer is being
        # written waits its turn (trigger_mode="multiple": Gradio's default drops it).
        answer_events = dict(fn=page.respond, inputs=[write], outputs=[chatbot, sources, queued],
                             api_visibility="private", concurrency_limit=None, show_progress="hidden",
                             trigger_mode="multiple")
        sent = question.submit(page.take, [question, write], [question, queued], api_visibility="private", queue=False,
                               trigger_mode="multiple")
        sent.then(**answer_events).then(page.answered_all, None, question, api_visibility="private", queue=False,
                                        trigger_mode="multiple")
        examples.load_input_event.then(page.take, [question, write], [question, queued], api_visibility="private",
                                       queue=False).then(**answer_events).then(
            page.answered_all, None, question, api_visibility="private", queue=False)
        question.stop(page.stop_writing, None, None, api_visibility="private", queue=False)
        # Regenerate an answer, or edit a question and send it again (the chat's own buttons).
        for event, fn in ((chatbot.retry, page.ask_again), (chatbot.edit, page.edited)):
            event(fn, write, question, api_visibility="private", queue=False).then(**answer_events).then(
                page.answered_all, None, question, api_visibility="private", queue=False)
        chatbot.select(page.show_sources, None, sources, api_visibility="private", queue=False)
        chatbot.clear(page.clear, None, [chatbot, sources], api_visibility="private", queue=False)
        # The progress bar on the upload box only: the chat stays usable while a file is indexed.
        # Progress shows in the chat, where the reader is looking, not on the upload box.
        files.upload(page.upload, [files], [chatbot, status, files, mine, yours], api_visibility="private",
                     concurrency_limit=2, show_progress="hidden")
        drop.click(page.remove, [mine], [chatbot, status, files, mine, yours], api_visibility="private", concurrency_limit=2,
                   show_progress="hidden")
        demo.unload(page.tab_closed)
        # Through the queue (gradio_client, /call/...) as by a plain POST, `computed`
        # bounds the work: a queue limit too (the default, 4) would only make the
        # encoder's batches smaller and the wait longer.
        gr.api(page.api_ask, api_name="ask", queue=False, concurrency_limit=None)
        gr.api(page.api_retrieve, api_name="retrieve", queue=False, concurrency_limit=None)
    return demo


