"""Factoid: one fact, answered by the one sentence that states it.

The best-scoring sentence is quoted; a second one follows when it ranks close
to the best (`RUNNER_UP`, fitted: on SQuAD and PolNeAR a sentence ranked
within 60% of the best often holds the answer the best misses) and also fits
the kind asked for, if both fit in 400 characters: shown to the reader rather
than decided silently.

Left out: answers spread over sentences far apart, arithmetic, yes/no verdicts.
"""

import numpy as np

from ..retrieval import Hit
from ..store import Index
from ..query import Query
from ..weights import fitted
from .result import MAX_ANSWER_CHARS, NO_PASSAGE, Quote, quote
from .scoring import Candidate, fits_kind, ranked, score_sentences

# A second sentence joins the answer when it ranks close to the best: a near
# tie is shown to the reader rather than decided silently (fitted).
RUNNER_UP = fitted().runner_up


def answer(q: Query, index: Index, hits: list[Hit], query_vector: np.ndarray, *, bar: float) -> list[Quote] | str:
    """The quoted sentences, or why there is no answer."""
    candidates = confident(q, index, hits, query_vector, bar=bar)
    if isinstance(candidates, str):
        return candidates
    best = candidates[0]
    chosen = [quote(index, best, q.topic)]
    for other in candidates[1:3]:
        if (other.score >= RUNNER_UP * best.score and other.confidence >= bar
                and other.text != best.text and fits_kind(other.text, q, other.speaker) == "fits"):
            second = quote(index, other, q.topic)
            if chosen[0].length + second.length - 2 < MAX_ANSWER_CHARS:
                chosen.append(second)
                break
    return chosen


def confident(q: Query, index: Index, hits: list[Hit], query_vector: np.ndarray, *, bar: float) -> list[Candidate] | str:
    """The sentences ranked best first when the best is confident enough, else why there is no answer."""
    candidates = ranked(score_sentences(q, index, hits, query_vector))
    if not candidates:
        return no_one(q)
    return candidates if candidates[0].confidence >= bar else NO_PASSAGE


def no_one(q: Query) -> str:
    who = " or ".join([p.name for p in q.actor or q.people] + [b[0] for b in q.actor_bodies]) or "anyone"
    return f"nothing by or about {who} answers this."
