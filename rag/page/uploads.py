"""Uploads: what a tab may add to its documents, and how they are listed and discarded."""

from pathlib import Path

import rag
from rag.page.sessions import Session

# What one upload may hold: about 10 s of indexing on two cores (BENCHMARKS.md).
MAX_UPLOAD_CHARS = 300_000
# Checked before a file is read: reading a large web page costs seconds a megabyte.
# Room for 300,000 characters of text in a page's markup or a PDF's layout.
MAX_UPLOAD_BYTES = 5 * 2**20
MAX_SESSION_FILES = 20
def your_documents(session: "Session"):
    """The list of this session's uploads, each one a box to tick for removal, and
    whether the list (and its button) shows at all."""
    import gradio as gr

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


