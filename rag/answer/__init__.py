"""Answer: quote the sentences that answer a question, cited; or say that the
documents don't say.

The extractive answerer never writes a sentence of its own. Its steps, one
module each:

The question comes read by the understand stage (`rag.query`: names mended,
follow-ups made whole, parts split, each part read as a `Query`). Then:

- `scoring`: the one sentence scorer every form uses: named features per
  sentence, combined by `weights` (fitted by `bench/weights.py`);
- one module per form: `factoid` (one fact), `summary` (the gist of a document
  or of one person's view), `listing` (every item asked for), `comparison`
  (two sides side by side); each part of a multi-part question is answered in
  turn, here;
- `result`: the `Answer` and how sentences are quoted and cited in it.

It abstains when the question names something no document mentions, when none
of its key words appear in them, when nothing by the person asked about
matches, or when the best sentence covers too little of the topic for its
similarity. Abstention is the honest answer, not an error: `Answer.abstained`
is true and `Answer.text` says why.

Anything implementing `Answerer` can replace this step (a generative model, say).
"""

import numpy as np

from ..query import read_question, split_parts
from ..retrieval import Hit, search
from ..store import Index
from ..weights import fitted
from . import comparison, factoid, listing, summary
from .result import DONT_SAY, MAX_LONG_ANSWER_CHARS, Answer, Answerer, Part, Quote, abstain, compose
from .scoring import MIN_CONFIDENCE

__all__ = ["Answer", "Answerer", "ExtractiveAnswerer", "Part"]

# Confidence a part of a multi-part question needs once an earlier part is
# answered: the question is known to be about the documents (fitted).
LATER_PART_CONFIDENCE = fitted().later_part_confidence
_FORMS = {"factoid": factoid.answer, "overview": summary.answer, "list": listing.answer,
          "comparison": comparison.answer}


class ExtractiveAnswerer:
    """Quotes the sentences that answer, verbatim with citations, or abstains."""

    def __call__(self, question: str, index: Index, hits: list[Hit], query_vector: np.ndarray) -> Answer:
        pieces = split_parts(question, index)
        if len(pieces) == 1:
            found = self._one(question, index, hits, query_vector)
            return abstain(question, found) if isinstance(found, str) else compose(question, index, found)
        return self._parts(question, pieces, index)

    def _one(self, question: str, index: Index, hits: list[Hit], query_vector: np.ndarray,
             *, bar: float = MIN_CONFIDENCE) -> list[Quote] | str:
        q = read_question(question, index)
        if q.unknown_names:
            return "they never mention " + ", ".join(f"“{n}”" for n in q.unknown_names) + "."
        if q.unknown_actor:
            return f"nothing by {q.unknown_actor} is quoted."
        if q.form != "overview" and q.topic and not any(q.found(t, index) for t in q.topic):
            return "none of the question's key words appear in them."
        return _FORMS[q.form](q, index, hits, query_vector, bar=bar)

    def _parts(self, question: str, pieces: list[str], index: Index) -> Answer:
        """Each part answered in order, within one length budget; a sentence that
        answers two parts is quoted once."""
        embedder = index.embedder()
        quotes: list[Quote] = []
        notes: list[str] = []
        for piece in pieces:
            vector = embedder.encode([piece])[0]
            # Once a part is answered, the question is known to be about the
            # documents; later parts may be answered on a little less evidence.
            bar = LATER_PART_CONFIDENCE if quotes else MIN_CONFIDENCE
            found = self._one(piece, index, search(index, piece, n=50, query_vector=vector), vector, bar=bar)
            if isinstance(found, str):
                notes.append(f"{DONT_SAY} what was asked in “{piece}”.")
                continue
            for f in found:
                used = sum(q.length for q in quotes) + sum(len(n) + 1 for n in notes)
                if all((f.row, f.span) != (o.row, o.span) for o in quotes) and used + f.length - 5 <= MAX_LONG_ANSWER_CHARS:
                    quotes.append(f)
        if not quotes:
            return abstain(question, "no passage answers any part of this question.")
        return compose(question, index, quotes, notes)

