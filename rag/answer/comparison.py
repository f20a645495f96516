"""Comparison: two sides of a question, the best sentence of each, side by side.

The sides are the people the question names ("How did Healey's framing differ
from Pistorius's?"); when it names fewer than two ("Compare how the two
ministers …"), the speakers of the best sentences on the topic fill in. For
each side, the sentence by or about it that best answers the topic, with a
bonus for the side's central statements (a comparison asks for positions), is
quoted, in the order the question names them.

Left out: more than two sides, comparing documents as wholes, countries as sides.
"""

from dataclasses import replace

import numpy as np

from ..retrieval import Hit
from ..store import Index
from ..query import Query
from ..weights import fitted
from .result import MAX_LONG_ANSWER_CHARS, NO_PASSAGE, Quote, quote
from .scoring import Candidate, centrality, ranked, score_sentences

# A side is quoted down to this confidence when the other side reaches
# the bar: the question is answerable, and the reader wants both sides.
SIDE_CONFIDENCE = fitted().side_confidence
# Weight of how central a sentence is among its side's statements (fitted).
CENTRAL_WEIGHT = fitted().central_weight


def answer(q: Query, index: Index, hits: list[Hit], query_vector: np.ndarray, *, bar: float) -> list[Quote] | str:
    sides = list({p.name: p for p in q.actor + q.people}.values())[:2]
    if len(sides) < 2:
        for c in ranked(score_sentences(replace(q, speech=False), index, hits, query_vector, actor=[])):
            if len(sides) == 2 or c.confidence < SIDE_CONFIDENCE:
                break
            person = index.speaker_of(index.passages[c.row])
            if person and all(p.name != person.name for p in sides):
                sides.append(person)
    q = replace(q, speech=True)  # each side's own words, or words about it
    best: list[Candidate] = []
    for person in sides:
        found = [c for c in score_sentences(q, index, hits, query_vector, actor=[person])
                 if c.confidence >= SIDE_CONFIDENCE]
        # Each side in its own words when it has any: narration naming both sides is neither's view.
        found = [c for c in found if c.speaker == person.name] or found
        central = centrality(index, index.rows_by("speaker").get(person.name, []))
        found.sort(key=lambda c: -(c.score + CENTRAL_WEIGHT * central.get(c.row, 0.0)))
        if found and all(found[0].text != b.text for b in best):
            best.append(found[0])
    if not best or max(c.confidence for c in best) < bar:
        return NO_PASSAGE
    budget = MAX_LONG_ANSWER_CHARS // len(best) - 5
    return [quote(index, c, q.topic, budget=budget) for c in best]
