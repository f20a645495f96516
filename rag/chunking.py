"""Chunking: split a document into sentences, ask `speakers` who says each one,
and group them into small passages.

Sentences come from BlingFire (Microsoft's fast tokenizer; handles quotes,
"Mr", "U.S.", "1,500"), about a hundred times faster than pysbd with the same
splits on news text.
A paragraph is a line, or, when the text has blank lines, a block between them;
no sentence or passage crosses a paragraph.

Each sentence's speaker comes from `speakers.attribute` (its own stage).

Headings and page furniture ("Video Ad Feedback", "Source: CNN", bylines,
datelines: short title-case lines with no sentence end) give no passage; the
first line, the title, does.

Passages are one sentence, or up to three when sentences are short fragments,
never mixing speakers, so an answer can quote exactly the sentence that answers.

Left out: sentence splitting for languages other than English.
"""

import re
from dataclasses import dataclass, field, replace

from .speakers import Person, attribute

CHUNKER_VERSION = "12"

_MIN_PASSAGE_CHARS = 60
# The longest line `is_furniture` considers: a longer title-case line is a headline.
_MAX_FURNITURE_WORDS = 12
# Words a title-case line may keep in lower case ("Source of the Day").
_SMALL_WORDS = {"a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for", "by", "with", "from", "vs"}
_MAX_PASSAGE_SENTENCES = 3


@dataclass(frozen=True)
class Passage:
    """A few sentences of one document. `doc.text[start:end] == text` always holds;
    `sentences` holds each sentence's (start, end) offsets in the document."""

    doc_id: str
    text: str
    start: int
    end: int
    score: float = 0.0
    speaker: str | None = None
    sentences: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict:
        """What the CLI's --json and the chat page's API show of a passage."""
        return {"doc_id": self.doc_id, "text": self.text, "start": self.start, "end": self.end,
                "score": round(self.score, 6), "speaker": self.speaker}


@dataclass
class Chunked:
    passages: list[Passage]
    people: list[Person] = field(default_factory=list)


def chunk(doc_id: str, text: str) -> Chunked:
    """Split one document's text into passages with speakers."""
    sentences = split_sentences(text)
    speakers, people = attribute(text, sentences)
    spans: dict[int, tuple[int, int]] = {}  # each paragraph's span, from its first sentence to its last
    for start, end, para in sentences:
        spans[para] = (spans.get(para, (start,))[0], end)
    furniture = {n for n, (start, end) in spans.items() if n and is_furniture(text[start:end])}
    kept = [k for k, (_, _, para) in enumerate(sentences) if para not in furniture]
    return Chunked(_group(doc_id, text, [sentences[k] for k in kept], [speakers[k] for k in kept]), people)


def is_furniture(line: str) -> bool:
    """A short line in title case with no sentence end is a heading or page furniture,
    not prose that answers: "Video Ad Feedback", "Source: CNN", "By Jane Doe, CNN",
    "Updated 10:03 AM EST, Thu December 5, 2024". (A document's first line, its
    title, is kept; so are list items and sentences, which have lower-case words.)"""
    words = line.split()
    if not words or len(words) > _MAX_FURNITURE_WORDS or line.rstrip()[-1] in ".!?:;”\"’…)":
        return False
    return all(not w[0].isalpha() or w[0].isupper() or w.lower() in _SMALL_WORDS for w in words)


def index_text(passage: Passage, role: str = "") -> str:
    """The text that is embedded and keyword-indexed for a passage: the speaker is
    put in front so that "What did Healey say …" finds a sentence that says only
    "There is an indivisible link …"."""
    if not passage.speaker:
        return passage.text
    who = f"{passage.speaker} ({role})" if role else passage.speaker
    return f"{who}: {passage.text}"


# --- sentences -------------------------------------------------------------


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: blocks between blank lines if the text has
    any, else lines. Offsets exclude surrounding whitespace."""
    sep = r"\n[ \t]*\n" if re.search(r"\n[ \t]*\n", text) else r"\n"
    spans, pos = [], 0
    for m in [*re.finditer(sep, text), None]:
        end = m.start() if m else len(text)
        s, e = _strip_span(text, pos, end)
        if s < e:
            spans.append((s, e))
        if m:
            pos = m.end()
    return spans


def split_sentences(text: str) -> list[tuple[int, int, int]]:
    """(start, end, paragraph number) of every sentence, in order."""
    out = []
    import blingfire

    for para_no, (ps, pe) in enumerate(paragraphs(text)):
        # A newline inside a paragraph is a wrapped line, not a sentence end.
        block = text[ps:pe].replace("\n", " ")
        cuts, cursor = {0, len(block)}, 0
        for piece in blingfire.text_to_sentences(block).split("\n"):
            piece = piece.strip()
            if not piece:
                continue
            at = block.find(piece, cursor)
            if at < 0:  # the splitter altered the text; fall back to the rest of the block
                break
            cursor = at + len(piece)
            cuts.add(cursor)
        # A comma closing a quotation never ends a sentence ('“Go, go!!!,” Salvini wrote.'),
        # nor does a quoted question or exclamation that a lower-case word goes on
        # from ('“Is he?” the nominee tweeted').
        cuts = {c for c in cuts if not block[:c].rstrip().endswith((",”", ',"'))
                and not (block[:c].rstrip().endswith(("?”", '?"', "!”", '!"')) and block[c:].lstrip()[:1].islower())}
        cuts.update(m.end() for m in _QUOTE_BREAK.finditer(block))
        for m in _DASH_CREDIT.finditer(block):  # the credit ends its quotation's sentence
            cuts = {c for c in cuts if not m.start() < c < m.end()} | {m.end()}
        cuts = sorted(cuts)
        spans = (_strip_span(text, ps + a, ps + b) for a, b in zip(cuts, cuts[1:]))
        out += [(a, b, para_no) for a, b in spans if a < b]
    return out


# Where a quotation ends a sentence and another opens the next, which the splitter
# keeps together ('… who we are.” “How many …'), and a dash credit after a
# quotation ('… ever.” ― Carlos Raúl “The most …'), which it splits wrongly.
_QUOTE_BREAK = re.compile(r"[.?!][”\"](?=\s+[“\"])")
_DASH_CREDIT = re.compile(r"[”\"]\s*[—―–]\s*[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}\.?(?=\s|$)")


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- passages --------------------------------------------------------------


def _group(doc_id: str, text: str, sentences, speakers) -> list[Passage]:
    passages: list[Passage] = []
    current: list[int] = []

    def flush():
        if current:
            s, e = sentences[current[0]][0], sentences[current[-1]][1]
            spans = tuple((sentences[j][0], sentences[j][1]) for j in current)
            passages.append(Passage(doc_id, text[s:e], s, e, speaker=speakers[current[0]], sentences=spans))
            current.clear()

    for i, (start, end, para) in enumerate(sentences):
        if current:
            first = current[0]
            short = sentences[current[-1]][1] - sentences[first][0] < _MIN_PASSAGE_CHARS
            same = sentences[first][2] == para and speakers[first] == speakers[i]
            if not (short and same and len(current) < _MAX_PASSAGE_SENTENCES):
                flush()
        current.append(i)
    flush()
    return passages


def with_score(passage: Passage, score: float) -> Passage:
    return replace(passage, score=score)
