"""The chat page: ask the documents, see the quoted answer and its sources.

    python app.py [--host 127.0.0.1] [--port 7860] [--index DIR] [--share]

Built on the `rag` library only; no retrieval logic lives here. Each browser
session may upload its own .txt/.md/.html/.pdf files: they are indexed, with the
bundled documents, into a directory of that session's own, which is deleted
when the session ends; other sessions never see them.

The page's API (usable with `gradio_client`) has two endpoints, `/ask` and
`/retrieve`, returning the same data as `rag.ask` and `rag.retrieve` as JSON.
"""

import argparse
import html
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from an offline tool

import rag  # noqa: E402
from rag.chunking import paragraphs  # noqa: E402
from rag.config import MAX_FILE_BYTES  # noqa: E402
from rag.documents import SUPPORTED_SUFFIXES  # noqa: E402

EXAMPLES = [
    "What did Pistorius say about international law?",
    "What did Healey say about the Indo-Pacific?",
    "How many North Korean troops are thought to be involved?",
    "What did Baroness Chapman say about the defence of Ukraine?",
]
SESSION_TTL_SECONDS = 6 * 3600

CSS = """
#sources .source { border-left: 3px solid var(--color-accent); padding: 0.2rem 0 0.2rem 0.75rem; margin-bottom: 1rem; }
#sources .source-head { font-size: 0.9em; margin-bottom: 0.3rem; }
#sources .marker { font-weight: 700; }
#sources mark { background: #ffe58a; color: inherit; padding: 0 0.1em; }
#sources .context { line-height: 1.5; margin: 0; }
#sources .empty { opacity: 0.7; }
"""


@dataclass
class Session:
    """What one browser session owns: its uploads, their index, the questions asked."""

    directory: Path | None = None
    uploads: list[rag.Document] = field(default_factory=list)
    index: rag.Index | None = None
    asked: list[str] = field(default_factory=list)  # as typed: rag.ask reads follow-ups against them

    def close(self) -> None:
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def loaded_line(index: rag.Index) -> str:
    titles = "; ".join(f"*{_md(d.title or d.id)}*" for d in index.documents.values())
    return f"**Loaded:** {titles} — {len(index.passages)} passages from {len(index.documents)} document(s)."


def sources_html(index: rag.Index, answer: rag.Answer | None) -> str:
    if answer is None:
        return '<p class="empty">Sources of an answer appear here, with the answering words highlighted.</p>'
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
        blocks.append(
            f'<div class="source" id="source-{n}"><div class="source-head"><span class="marker">[{n}]</span> '
            f"<b>{html.escape(doc.title or doc.id)}</b>{who} · characters {p.start}–{p.end}</div>"
            f'<p class="context">{context}</p></div>'
        )
    return "\n".join(blocks)


def _paragraphs_html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _md(text: str) -> str:
    """Text shown literally in Markdown: no emphasis, links or HTML from documents."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~])", r"\\\1", text)


def build_app(index_dir: str | None = None):
    import gradio as gr

    base = rag.load_index(index_dir)
    bundled = list(base.documents.values())
    rag.ask(EXAMPLES[0], base)  # load the model and search structures before the first visitor

    def index_for(session: Session | None) -> rag.Index:
        return session.index if session and session.index else base

    def respond(message, history, session):
        session = session or Session()
        history = list(history or [])
        shown = message if len(message or "") <= 300 else message[:300] + f"… ({len(message):,} characters)"
        history.append({"role": "user", "content": _md(shown or " ")})
        index = index_for(session)
        try:
            asked = rag.check_question(message)
            answer = rag.ask(asked, index, history=session.asked)
        except rag.RagError as exc:
            reply = {"the question is empty": "Please type a question about the documents."}.get(str(exc), f"Sorry: {exc}.")
            history.append({"role": "assistant", "content": _md(reply)})
            yield history, "", gr.update(), session
            return
        # The answer's question is as understood: follow-up made whole, typos and other names mended.
        session.asked = (session.asked + [asked])[-rag.api.MAX_HISTORY:]
        prefix = f"*Understood as: {_md(answer.question)}*\n\n" if answer.question != asked else ""
        history.append({"role": "assistant", "content": prefix})
        words = re.split(r"(?<=\s)", answer.text)
        for i in range(0, len(words), 4):  # stream a few words at a time, as people expect of a chat
            history[-1] = {"role": "assistant", "content": prefix + _md("".join(words[: i + 4]))}
            yield history, "", gr.update(), session
            time.sleep(0.015)
        yield history, "", sources_html(index, answer), session

    def upload(files, history, session, progress=gr.Progress()):
        session = session or Session()
        history = list(history or [])
        files = [Path(f) for f in (files or [])]
        if not files:
            return history, gr.update(), gr.update(value=None), session
        good, problems = [], []
        for path in files:
            name = path.name
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                problems.append(f"{name}: unsupported file type (use {', '.join(sorted(SUPPORTED_SUFFIXES))})")
            elif path.stat().st_size > MAX_FILE_BYTES:
                problems.append(f"{name}: file is too large (the limit is {MAX_FILE_BYTES // 2**20} MB)")
            else:
                good.append(path)
        added = []
        for path in good:
            progress(0.1, desc=f"Reading {path.name}")
            try:
                [doc] = rag.load_documents([path])
            except rag.RagError as exc:
                problems.append(str(exc).replace(str(path), path.name))
                continue
            doc = rag.Document(id=_unique_id(doc.id, bundled + session.uploads + added), text=doc.text,
                               title=doc.title, source=path.name)
            added.append(doc)
        if added:
            progress(0.4, desc=f"Indexing {len(added)} file(s)")
            if session.directory is None:
                session.directory = Path(tempfile.mkdtemp(prefix="rag-session-"))
            try:
                session.index = rag.build_index(bundled + session.uploads + added, session.directory / "index",
                                                embedder=base.derived.get("embedder"))
                session.uploads += added
            except rag.RagError as exc:
                problems.append(str(exc))
                added = []
            progress(1.0, desc="Ready")
        lines = []
        if added:
            names = ", ".join(_md(d.id) for d in added)
            count = sum(1 for p in session.index.passages if p.doc_id in {d.id for d in added})
            lines.append(f"Indexed **{names}** ({count} passages). Ask me about it.")
        lines += [f"Couldn't use {_md(problem)}." for problem in problems]
        history.append({"role": "assistant", "content": "\n\n".join(lines)})
        return history, loaded_line(index_for(session)), gr.update(value=None), session

    def api_ask(question: str = "") -> dict:
        """Answer a question from the bundled documents: quoted, cited sentences or an abstention."""
        try:
            return rag.ask(question, base).to_json()
        except rag.RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def api_retrieve(question: str, k: int = 5) -> list[dict]:
        """The k passages that best match the question, with offsets, speakers and scores."""
        try:
            k = int(k)
        except (TypeError, ValueError, OverflowError):  # "abc", None, "inf" from a client
            raise gr.Error(f"k must be a whole number of at least 1, not {k!r}", print_exception=False) from None
        try:
            return [p.to_json() for p in rag.retrieve(question, k=k, index=base)]
        except rag.RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    with gr.Blocks(title="Ask the documents", analytics_enabled=False) as demo:
        session = gr.State(None, time_to_live=SESSION_TTL_SECONDS, delete_callback=lambda s: s and s.close())
        gr.Markdown("## Ask the documents\nEvery answer is quoted from the documents and cited; "
                    "when they don't say, you'll be told so.")
        status = gr.Markdown(loaded_line(base), elem_id="loaded")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                chatbot = gr.Chatbot(label="Chat", height=460, elem_id="chat", buttons=["copy"])
                question = gr.Textbox(placeholder="Ask a question about the documents…", show_label=False,
                                      submit_btn=True, elem_id="question", max_lines=4)
                gr.Examples(EXAMPLES, inputs=question, label="Try")
                files = gr.File(label="Add your own documents (.txt, .md, .html, .pdf; up to 20 MB each)",
                                file_count="multiple", type="filepath", elem_id="upload", height=110)
            with gr.Column(scale=2, min_width=340):
                gr.Markdown("### Sources")
                sources = gr.HTML(sources_html(base, None), elem_id="sources")

        question.submit(respond, [question, chatbot, session], [chatbot, question, sources, session],
                        api_visibility="private", concurrency_limit=4)
        files.upload(upload, [files, chatbot, session], [chatbot, status, files, session],
                     api_visibility="private", concurrency_limit=2)
        gr.api(api_ask, api_name="ask")
        gr.api(api_retrieve, api_name="retrieve")
    return demo


def _unique_id(doc_id: str, existing: list[rag.Document]) -> str:
    taken = {d.id for d in existing}
    unique, n = doc_id, 2
    while unique in taken:
        unique, n = f"{doc_id}~{n}", n + 1
    return unique


def main() -> None:
    parser = argparse.ArgumentParser(description="Chat with your documents, offline.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--index", metavar="DIR", help="index directory (default: the bundled article)")
    parser.add_argument("--share", action="store_true", help="ask Gradio for a public share link")
    args = parser.parse_args()
    try:
        demo = build_app(args.index)
    except rag.RagError as exc:
        raise SystemExit(f"app: error: {exc}")
    import gradio as gr

    theme = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    demo.queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, share=args.share, max_file_size="100mb",
        theme=theme, css=CSS, footer_links=["api"], show_error=False,
    )


if __name__ == "__main__":
    main()
