"""Summary: the gist of a document, or of one person's view, in its own sentences.

- "What's the gist of this story?": the document's headline, then its most
  central sentences: those whose passages are closest to the mean of all its
  passages, with a small lead bonus because news puts the point first.
- "Sum up X's position", "In a nutshell, what was X arguing?": X's most central
  statements, closest to the mean of everything X says.
- With a topic ("Summarise what was said about South Korea"): the best
  sentences on it.

Chosen sentences are shown in document order, without near repeats (passages
more alike than `REPEAT`), up to 700 characters.

Which document: the only one, or the one the best-matching passages come from.

Left out: summaries across several documents, abstractive summaries.
"""

from dataclasses import replace

import numpy as np

from ..retrieval import Hit
from ..store import Index
from ..query import Query
from ..weights import fitted
from .result import MAX_LONG_ANSWER_CHARS, NO_PASSAGE, Quote, quote
from .scoring import Candidate, centrality, ranked, score_sentences

MAX_SENTENCES = 3
# Candidates looked at for a summary: the best by centrality or by score.
MAX_POOL = 30
# The numbers below are fitted (rag/weights.py says what each is).
# Cosine above which two passages say the same thing.
REPEAT = fitted().repeat
# News puts its point first (the "lead-3" baseline is hard to beat on news
# summaries): the first passage gets this much, falling to 0 at the end.
LEAD_BONUS = fitted().lead_bonus
# A headline is the writer's own summary.
HEADLINE_BONUS = fitted().headline_bonus
# Maximal marginal relevance (Carbonell & Goldstein 1998): a sentence loses this
# much of its similarity to what is already chosen, so the summary covers more.
REDUNDANCY = fitted().redundancy


def answer(q: Query, index: Index, hits: list[Hit], query_vector: np.ndarray, *, bar: float) -> list[Quote] | str:
    who = q.actor or q.people
    if who:
        rows = [r for p in who for r in index.rows_by("speaker").get(p.name, [])]
        if not rows:
            return f"nothing by {who[0].name} is quoted."
    elif not hits:
        return "there is nothing to summarise."
    else:
        doc_id = index.passages[hits[0].row].doc_id
        rows = index.rows_by("doc_id").get(doc_id, [])
    # "Give me a summary": words no document has ask for no particular topic.
    q = replace(q, topic=[t for t in q.topic if q.found(t, index)])
    if q.topic:
        candidates = [c for c in ranked(score_sentences(q, index, hits, query_vector, rows=rows))
                      if c.confidence >= bar]
        if not candidates:
            return NO_PASSAGE
    else:
        candidates = _central(index, rows, headline=not who)
    return _pick(index, candidates, q)


def _central(index: Index, rows: list[int], *, headline: bool) -> list[Candidate]:
    """Sentences ranked by how central their passage is; the headline first."""
    central = centrality(index, rows)
    out = []
    for n, row in enumerate(rows):
        c = central[row]
        passage = index.passages[row]
        doc = index.documents[passage.doc_id]
        for span in passage.sentences:
            text = doc.text[span[0]:span[1]]
            score = c + LEAD_BONUS * (1 - n / len(rows))
            if headline and n == 0 and text.strip() == doc.title.strip():
                score += HEADLINE_BONUS
            out.append(Candidate(row, span, text, score, score, passage.speaker))
    return ranked(out)


def _pick(index: Index, candidates: list[Candidate], q: Query) -> list[Quote]:
    """Up to MAX_SENTENCES by marginal relevance, within 700 characters, in document order."""
    chosen: list[tuple[Candidate, Quote]] = []
    used = 0
    pool = list(candidates[:MAX_POOL])
    while pool and len(chosen) < MAX_SENTENCES:
        def marginal(c: Candidate) -> float:
            return c.score - REDUNDANCY * max((float(index.vectors[c.row] @ index.vectors[o.row]) for o, _ in chosen),
                                              default=0.0)
        best = max(pool, key=marginal)
        pool.remove(best)
        if any(float(index.vectors[best.row] @ index.vectors[o.row]) > REPEAT for o, _ in chosen if o.row != best.row):
            continue
        shown = quote(index, best, q.topic, budget=min(MAX_LONG_ANSWER_CHARS // 2, MAX_LONG_ANSWER_CHARS - used - 10))
        if used + shown.length > MAX_LONG_ANSWER_CHARS:
            continue
        chosen.append((best, shown))
        used += shown.length
    return [shown for _, shown in sorted(chosen, key=lambda pair: (pair[0].row, pair[0].span))]
