"""Answer: quote the sentences that answer a question, cited; or say that the
documents don't say.

The extractive answerer never writes a sentence of its own. Its steps, one
module each:

- `vocabulary`: a reader's words as the documents' words (typos in names,
  other names for countries, other words for the same thing); `api.ask` runs
  it before retrieval;
- `question`: what is asked: form, kind of answer, people, actor, topic;
- `scoring`: the one sentence scorer every form uses: named features per
  sentence, combined by `weights` (fitted by `bench/weights.py`);
- one module per form: `factoid` (one fact), `summary` (the gist of a document
  or of one person's view), `listing` (every item asked for), `comparison`
  (two sides side by side); a multi-part question is split and each part
  answered in turn, here;
- `result`: the `Answer` and how sentences are quoted and cited in it.

It abstains when the question names something no document mentions, when none
of its key words appear in them, when nothing by the person asked about
matches, or when the best sentence covers too little of the topic for its
similarity. Abstention is the honest answer, not an error: `Answer.abstained`
is true and `Answer.text` says why.

Anything implementing `Answerer` can replace this step (a generative model, say).
"""

import re
from dataclasses import replace

import numpy as np

from ..chunking import Person
from ..retrieval import Hit, search
from ..store import Index
from . import comparison, factoid, listing, summary
from .question import MIN_CONFIDENCE, Question, named_people, parts, read_question
from .result import DONT_SAY, MAX_LONG_ANSWER_CHARS, Answer, Answerer, Quote, abstain, compose

__all__ = ["Answer", "Answerer", "ExtractiveAnswerer", "Question", "named_people", "read_question"]

# Confidence a part of a multi-part question needs once an earlier part is
# answered (n30's second part, "what sort of alliance is he accused of
# building?", scores 0.65 on the article; 0.6 leaves a little room).
LATER_PART_CONFIDENCE = 0.6
# Parts answered at most: a question of more is read as its first four.
MAX_PARTS = 4

_FORMS = {"factoid": factoid.answer, "overview": summary.answer, "list": listing.answer,
          "comparison": comparison.answer}
_PRONOUNS = re.compile(r"\b(he|him|his|she|her)\b", re.I)


class ExtractiveAnswerer:
    """Quotes the sentences that answer, verbatim with citations, or abstains."""

    def __call__(self, question: str, index: Index, hits: list[Hit], query_vector: np.ndarray) -> Answer:
        pieces = parts(question)
        if len(pieces) == 1:
            found = self._one(question, index, hits, query_vector)
            return abstain(question, found) if isinstance(found, str) else compose(question, index, found)
        return self._parts(question, pieces, index)

    def _one(self, question: str, index: Index, hits: list[Hit], query_vector: np.ndarray,
             *, min_confidence: float = MIN_CONFIDENCE) -> list[Quote] | str:
        q = replace(read_question(question, index), min_confidence=min_confidence)
        if q.unknown_names:
            return "they never mention " + ", ".join(f"“{n}”" for n in q.unknown_names) + "."
        if q.unknown_actor:
            return f"nothing by {q.unknown_actor} is quoted."
        if q.form != "overview" and q.topic and not any(q.found(t, index) for t in q.topic):
            return "none of the question's key words appear in them."
        return _FORMS[q.form](q, index, hits, query_vector)

    def _parts(self, question: str, pieces: list[str], index: Index) -> Answer:
        """Each part answered in order, within one length budget; a sentence that
        answers two parts is quoted once."""
        embedder = index.embedder()
        quotes: list[Quote] = []
        notes: list[str] = []
        earlier: list[Person] = []  # people named in earlier parts, for "he" in later ones
        for piece in pieces[:MAX_PARTS]:
            if earlier and not named_people(piece, index):
                piece = _PRONOUNS.sub(lambda m: _pronoun_for(m, earlier[-1]), piece, count=1)
            earlier += [p for p, _ in named_people(piece, index)]
            vector = embedder.encode([piece])[0]
            # Once a part is answered, the question is known to be about the
            # documents; later parts may be answered on a little less evidence.
            bar = LATER_PART_CONFIDENCE if quotes else MIN_CONFIDENCE
            found = self._one(piece, index, search(index, piece, n=50, query_vector=vector), vector, min_confidence=bar)
            if isinstance(found, str):
                notes.append(f"{DONT_SAY} what was asked in “{piece}”.")
                continue
            for f in found:
                used = sum(len(q.text) + 5 for q in quotes) + sum(len(n) + 1 for n in notes)
                if all((f.row, f.span) != (o.row, o.span) for o in quotes) and used + len(f.text) <= MAX_LONG_ANSWER_CHARS:
                    quotes.append(f)
        if not quotes:
            return abstain(question, "no passage answers any part of this question.")
        return compose(question, index, quotes, notes)


def _pronoun_for(m: re.Match, person: Person) -> str:
    """"he"/"his" in a later part as the person an earlier part named, if the gender fits."""
    word = m.group()
    if person.gender and person.gender != ("f" if word.lower() in ("she", "her") else "m"):
        return word
    return f"{person.name}’s" if word.lower() == "his" else person.name
