"""Uploads: what a tab may add to its documents, how they are indexed, listed and discarded."""

import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path


import rag
from rag.documents import SUPPORTED_SUFFIXES
from rag.page.rendering import loaded_line, md
from rag.page import import_gradio
from rag.page.sessions import Session

gr = import_gradio()

# What one upload may hold: about 10 s of indexing on two cores (BENCHMARKS.md).
MAX_UPLOAD_CHARS = 300_000
# Checked before a file is read: reading a large web page costs seconds a megabyte.
# Room for 300,000 characters of text in a page's markup or a PDF's layout.
MAX_UPLOAD_BYTES = 5 * 2**20
MAX_SESSION_FILES = 20


def your_documents(session: "Session"):
    """The list of this session's uploads, each one a box to tick for removal, and
    whether the list (and its button) shows at all."""
    names = [d.id for d in session.uploads]
    return gr.update(choices=names, value=[]), gr.update(visible=bool(names))


def unique_id(doc_id: str, existing: list[rag.Document]) -> str:
    taken = {d.id for d in existing}
    unique, n = doc_id, 2
    while unique in taken:
        unique, n = f"{doc_id}~{n}", n + 1
    return unique


def discard(files: list[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()  # Gradio keeps each upload in a folder of its own
        except OSError:
            pass


class UploadEvents:
    """The page's events for a tab's own files: added (checked, read, indexed with
    the bundled documents into the tab's own index, progress shown in the chat)
    and removed. Part of `layout.Page`, whose `sessions`, `base()` and
    `index_for()` they use."""

    def upload(self, files, request: gr.Request):
        session = self.sessions.get(request)
        files = [Path(f) for f in (files or [])]
        if not files:
            yield list(session.messages), gr.update(), gr.update(value=None), gr.update(), gr.update()
            return
        bundled = list(self.base().documents.values())
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
            doc = rag.Document(id=unique_id(doc.id, bundled + session.uploads + added), text=doc.text,
                               title=doc.title, source=path.name)
            added.append(doc)
        discard(files)  # read into memory: Gradio's copies are no longer needed
        if added:
            names = ", ".join(md(d.id) for d in added)
            chat = session.messages
            at = session.post({"role": "assistant", "content": f"📄 Indexing **{names}**… ask away meanwhile."})
            yield list(session.messages), gr.update(), gr.update(value=None), gr.update(), gr.update()
            outcome = yield from self.reindexed(session, lambda uploads: uploads + added, chat, at, f"Indexing **{names}**")
            if outcome is None:
                return  # the tab went away meanwhile
            if not isinstance(outcome, Exception):
                count = sum(1 for p in session.index.passages if p.doc_id in {d.id for d in added})
                done = f"📄 Indexed **{names}** ({count} passages). Ask me about it."
            else:
                done = f"⚠️ Couldn't index {names}: {md(str(outcome))}."
            session.replace(chat, at, {"role": "assistant", "content": done})
        for problem in problems:
            session.post({"role": "assistant", "content": f"⚠️ Couldn't use {md(problem)}."})
        yield list(session.messages), loaded_line(self.index_for(session)), gr.update(value=None), *your_documents(session)

    def reindexed(self, session: Session, change, chat: list[dict], at: int, doing: str):
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
            docs = list(self.base().documents.values()) + uploads

            def work():
                try:
                    done.set_result(rag.build_index(docs, session.directory / "index", embedder=self.base().embedder(),
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

    def remove(self, chosen, request: gr.Request):
        """Take the chosen uploads out of this session's index: answers stop citing them."""
        session = self.sessions.get(request)
        gone = [d for d in session.uploads if d.id in (chosen or [])]
        if not gone:
            yield list(session.messages), gr.update(), gr.update(), *your_documents(session)
            return
        names = ", ".join(md(d.id) for d in gone)
        chat = session.messages
        at = session.post({"role": "assistant", "content": f"📄 Removing **{names}**…"})
        yield list(session.messages), gr.update(), gr.update(), gr.update(), gr.update()
        outcome = yield from self.reindexed(session, lambda uploads: [d for d in uploads if d not in gone], chat, at,
                                       f"Removing **{names}**")
        if outcome is None:
            return  # the tab went away meanwhile
        if isinstance(outcome, Exception):
            session.replace(chat, at, {"role": "assistant", "content": f"⚠️ Couldn't remove {names}: {md(str(outcome))}."})
        else:
            session.replace(chat, at, {"role": "assistant",
                                       "content": f"📄 Removed **{names}**: answers no longer cite it."})
        yield list(session.messages), loaded_line(self.index_for(session)), gr.update(), *your_documents(session)
