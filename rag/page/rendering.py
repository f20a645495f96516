"""Rendering: an answer as the page shows it, pure functions of their inputs."""

import html
import re

import rag
from rag.chunking import paragraphs

CHECK_MARK = '<span class="checked" title="checked against the source it cites">✓</span>'
WRITING = '<p class="empty">The sources of the answer being written appear here once it is checked.</p>'
PLACEHOLDER = '<p class="empty">Sources of an answer appear here, with the answering words highlighted.</p>'
def loaded_line(index: rag.Index) -> str:
    shown = list(index.catalog.items())[:5]  # the manifest's titles: no document is read for this line
    titles = "; ".join(f"*{md(d.get('title') or doc_id)}*" for doc_id, d in shown)
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
        out += [md(text[done:start]), cite_link(key, n, labels)]
        done = end
    return "".join(out) + md(text[done:])


def cite_link(key: str, n: int, labels: dict[int, str] | None = None) -> str:
    label = (labels or {}).get(n)
    return f'<a class="cite" href="#{key}-s{n}">[{n}]</a>' + (f' <span class="doc">({md(label)})</span>' if label else "")


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
        return (answer_markdown(answer.text, answer, key, labels) + f"\n\n<small>{md(answer.note.capitalize())}.</small>"
                + dropped_html(answer.dropped))
    parts = []
    for s in answer.sentences:
        body = re.sub(r"(\s*\[\d+\])+$", "", s.text)
        links = "".join(" " + cite_link(key, n, labels) for n in s.citations)
        mark = " " + CHECK_MARK if s.verified else ""
        parts.append(md(body) + links + mark)
    return " ".join(parts) + (f"\n\n<small>Written by {md(model)}; each ✓ sentence was checked against the "
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
        return f"*{md(model)} is writing… each sentence is shown once it has been checked against its sources.*"
    done = f"{len(progress.kept)} sentence{'' if len(progress.kept) == 1 else 's'} checked"
    shown = "".join(f"\n\n{md(c.text)} {CHECK_MARK}" for c in progress.kept)
    return f"*{md(model)} is writing… {progress.words} words, {done}.*{shown}" + dropped_html(progress.dropped)


def shown_question(question: str) -> str:
    """A question as its chat bubble shows it: a long one cut, with its length."""
    return question if len(question) <= 300 else question[:300] + f"… ({len(question):,} characters)"


def unescaped(markdown: str) -> str:
    """What `md` escaped, as typed again (an edited question comes back as shown)."""
    return re.sub(r"\\([\\`*_{}\[\]()#+!|<>~$])", r"\1", markdown).replace("&amp;", "&")


def waiting_line(waiting: list[str]) -> str:
    """Under the box: the questions sent while an answer is being written, asked in turn."""
    if not waiting:
        return ""
    shown = "; ".join(f"“{md(q if len(q) <= 80 else q[:80] + '…')}”" for q in waiting)
    return f"**Waiting:** asked next, once the answer being written is done: {shown}"


def _paragraphs_html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def md(text: str) -> str:
    """Text shown literally in Markdown: no emphasis, links, maths or HTML from documents."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~$])", r"\\\1", text.replace("&", "&amp;"))


def reworded(asked: str, understood: str) -> bool:
    """Whether the question was understood as something other than what was typed
    (not just without its leading "and" or in another case)."""
    def plain(q: str) -> str:
        return re.sub(r"^(and|so|also|but)\b\W*", "", q.strip().casefold())
    return plain(asked) != plain(understood)


