"""Result: what an answer is, and how chosen sentences are quoted in one.

An answer is its parts: each a sentence of a source, verbatim (a long one is
cut to the window that holds the question's words, marked "…"), its speaker
when it does not name them, and the number n of its citation,
`Answer.citations[n - 1]`. `Answer.text` is made from them ("sentence — speaker
[n]"), followed by any notes: the only other text an answer holds is a refusal,
"The documents don't say …". Readers of an answer (the page, the checker, the
tests) read its parts, not its text.
"""

import re
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..chunking import Passage, with_score
from ..retrieval import Hit, terms
from ..store import Index
from .scoring import Candidate, names

MAX_ANSWER_CHARS = 400
# Summaries, lists and comparisons hold several sentences.
MAX_LONG_ANSWER_CHARS = 700
DONT_SAY = "The documents don't say"
NO_PASSAGE = "no passage answers this question."
# The shortest window a long sentence is cut to, whatever room is left.
MIN_CUT = 60


@dataclass(frozen=True)
class Sentence:
    """One sentence of a generated answer as shown, markers included; `citations`
    are 1-based into `Answer.citations`. `verified`: its citations support it."""

    text: str
    citations: tuple[int, ...]
    generated: bool
    verified: bool


@dataclass(frozen=True)
class Dropped:
    """A sentence a model wrote that its citations did not support, and why."""

    text: str
    why: str


@dataclass(frozen=True)
class Part:
    """One quoted sentence of an answer."""

    text: str          # the source's words (cut, with "…", when long)
    citation: int      # 1-based into `Answer.citations`
    speaker: str = ""  # who said it, when the words do not name them

    @property
    def shown(self) -> str:
        """As the answer's text shows it, without its marker."""
        return self.text + _label(self.speaker)

    @property
    def marked(self) -> str:
        """As the answer's text shows it, marker included."""
        return f"{self.shown} [{self.citation}]"


@dataclass(frozen=True)
class Answer:
    """What `ask` returns: the answer text with citation markers [1], [2] … that
    index into `citations` (1-based), or an abstention. `question` is the
    question as understood (typos mended, follow-ups made whole). A quoted
    answer's `parts` are its sentences, each with its speaker and citation;
    `notes` say which parts of a question the documents do not answer.

    With a generator (`ask(..., generator=MODEL)`): `generated` is true when
    the text is the model's, `sentences` are its sentences (each verified
    against its citations), `dropped` the sentences it wrote that their
    citations did not support, each with why; `note` says why an answer was quoted instead."""

    question: str
    text: str
    abstained: bool
    citations: list[Passage] = field(default_factory=list)
    parts: tuple[Part, ...] = ()
    notes: tuple[str, ...] = ()
    generated: bool = False
    sentences: tuple[Sentence, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    note: str = ""

    def markers(self) -> list[tuple[int, int, int]]:
        """Where a quoted answer's citation markers are in `text`: (start, end, n)."""
        found, at = [], 0
        for p in self.parts:
            found.append((at + len(p.shown) + 1, at + len(p.marked), p.citation))
            at += len(p.marked) + 1
        return found

    def to_json(self) -> dict:
        out = {"question": self.question, "answer": self.text, "abstained": self.abstained,
               "citations": [p.to_json() for p in self.citations],
               "parts": [{"text": p.text, "citation": p.citation, "speaker": p.speaker} for p in self.parts]}
        if self.generated or self.dropped or self.note:
            out.update(generated=self.generated, dropped=[{"text": d.text, "why": d.why} for d in self.dropped],
                       note=self.note,
                       sentences=[{"text": s.text, "citations": list(s.citations), "generated": s.generated,
                                   "verified": s.verified} for s in self.sentences])
        return out


class Answerer(Protocol):
    def __call__(self, question: str, index: Index, hits: list[Hit], query_vector: np.ndarray) -> Answer:
        """Answer `question` from `hits` (best first) in `index`."""


@dataclass(frozen=True)
class Quote:
    """One chosen sentence, as it will be quoted."""

    row: int
    span: tuple[int, int]
    text: str
    score: float
    speaker: str = ""  # shown after it: it does not name them

    @property
    def length(self) -> int:
        """Characters it takes in an answer, speaker and marker included."""
        return len(self.text) + len(_label(self.speaker)) + 5


def quote(index: Index, c: Candidate, topic: list[str], budget: int = MAX_ANSWER_CHARS, *,
          keep_end: bool = True) -> Quote:
    """A sentence as quoted in an answer: verbatim (cut to fit `budget` less
    room for its speaker and marker) and its speaker if it does not name them."""
    passage = index.passages[c.row]
    speaker = passage.speaker if passage.speaker and not names(c.text, passage.speaker) else ""
    text = cut(c.text, topic, budget - len(_label(speaker)) - 6, keep_end=keep_end)
    return Quote(c.row, c.span, text, c.score, speaker)


def compose(question: str, index: Index, quotes: list[Quote], notes: list[str] = ()) -> Answer:
    """The answer: quotes in the order given, each with its citation; `notes` follow."""
    parts = tuple(Part(q.text, n, q.speaker) for n, q in enumerate(quotes, 1))
    text = " ".join([p.marked for p in parts] + list(notes))
    return Answer(question, text, False, [with_score(index.passages[q.row], q.score) for q in quotes], parts=parts,
                  notes=tuple(notes))


def _label(speaker: str) -> str:
    """What follows a quoted sentence to say who said it ("" when it names them)."""
    return f" — {speaker}" if speaker else ""


def abstain(question: str, why: str) -> Answer:
    return Answer(question, f"{DONT_SAY}: {why}", True, [])


def cut(sentence: str, topic: list[str], budget: int, *, keep_end: bool = True) -> str:
    """The sentence, or the window of it that keeps what the question asks for.

    The window holds the most topic words; among equals, the one that reaches
    the sentence's end, where a long question or quote makes its point (or,
    with `keep_end` false, the earliest: "X said …" when X is what is asked)."""
    budget = max(budget, MIN_CUT)
    if len(sentence) <= budget:
        return sentence
    positions = [m.start() for m in re.finditer(r"\w+", sentence) if set(terms(m.group())) & set(topic)]
    # Past an attribution ("… said: “"), the quote itself is what is worth keeping.
    opening = re.search(r":\s*[“\"]", sentence[:len(sentence) // 2])
    starts = {0, len(sentence) - budget, *(min(max(0, p - 60), len(sentence) - budget) for p in positions)}
    if opening:
        starts.add(min(opening.end() - 1, len(sentence) - budget))

    def key(s: int):
        inside = sum(s <= p < s + budget - 10 for p in positions)
        return inside, keep_end and s + budget >= len(sentence), -s

    start = max(starts, key=key)
    if start and sentence[start - 1] not in " :":  # start at a word
        space = sentence.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    end = start + budget - 2
    if end >= len(sentence):
        return "…" + sentence[start:]
    space = sentence.rfind(" ", start, end)
    end = space if space > start else end  # end at a word, unless it is one long word
    return ("…" if start else "") + sentence[start:end].rstrip(" ,;:") + "…"
