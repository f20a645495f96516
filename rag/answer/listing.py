"""Listing: every item a question asks for, each cited.

- "Who is quoted?", "Who spoke?": every person the documents quote, in order of
  appearance, each with the sentence that introduces their words, cut around
  their name when space is short.
- "Which countries …?", "What charges …?": the best sentence, then further
  sentences that score nearly as well (`ALSO`) and add items not yet listed
  (for places, capitalised names; otherwise content words), up to three
  sentences and 700 characters.

Which documents: those of the best-matching passages.

Left out: counting ("how many people were quoted"), items spread over more
than three sentences.
"""

import re

import numpy as np

from ..retrieval import Hit, terms
from ..query import Query, country_of
from ..store import Index
from ..weights import fitted
from .factoid import confident
from .result import MAX_LONG_ANSWER_CHARS, Quote, quote
from .scoring import CONTEXT_SENTENCES, Candidate, _capitalised, fits_kind, names

MAX_SENTENCES = 3
# A further sentence must rank at least this share of the best one (fitted).
ALSO = fitted().also


def answer(q: Query, index: Index, hits: list[Hit], query_vector: np.ndarray, *, bar: float) -> list[Quote] | str:
    if q.list_of == "people":
        return _people_quoted(q, index, hits)
    candidates = confident(q, index, hits, query_vector, bar=bar)
    if isinstance(candidates, str):
        return candidates
    best = candidates[0]
    chosen: list[Candidate] = [best]
    seen = _items(best.text, q)
    for c in candidates[1:]:
        if len(chosen) == MAX_SENTENCES or c.score < ALSO * best.score:
            break
        new = _items(c.text, q) - seen
        if c.confidence >= bar and new and fits_kind(c.text, q, c.speaker) == "fits" and c.text != best.text:
            chosen.append(c)
            seen |= new
    if q.list_of in ("countries", "places") and not any(_items(c.text, q) for c in chosen):
        # "The two countries signed a deal": the items are named in its setting (the headline, the lead).
        named = _naming_sentence(index, best, q)
        if named:
            chosen.insert(0, named)
    budget = MAX_LONG_ANSWER_CHARS // len(chosen) - 5
    return [quote(index, c, q.topic, budget=budget) for c in chosen]


def _naming_sentence(index: Index, best: Candidate, q: Query) -> Candidate | None:
    """The sentence of `best`'s setting that names what it only describes: the
    nearest one before it, else the headline or lead."""
    doc_id = index.passages[best.row].doc_id
    doc = index.documents[doc_id]
    spans = [(r, s) for r in index.rows_by("doc_id")[doc_id] for s in index.passages[r].sentences]
    at = spans.index((best.row, best.span))
    for r, span in [*reversed(spans[max(0, at - CONTEXT_SENTENCES):at]), *spans[:2]]:
        text = doc.text[span[0]:span[1]]
        if _items(text, q):
            return Candidate(r, span, text, best.score, best.confidence, index.passages[r].speaker)
    return None


def _items(text: str, q: Query) -> set[str]:
    """What a sentence adds to a list: countries for lists of countries, names
    for lists of other places, else content words."""
    if q.list_of == "countries":
        return {c.code for w in _names_in(text) if (c := country_of(w, capitals=False))} - {
            c.code for w in _names_in(q.text) if (c := country_of(w, capitals=False))}
    if q.list_of == "places":
        return {t for w in _capitalised(text) for t in terms(w)} - q.question_terms
    return set(terms(text)) - q.question_terms


def _names_in(text: str) -> list[str]:
    return re.findall(r"[A-Z][\w’'-]+(?: [A-Z][\w’'-]+)*", text)


def _people_quoted(q: Query, index: Index, hits: list[Hit]) -> list[Quote] | str:
    doc_ids = list(dict.fromkeys(index.passages[h.row].doc_id for h in hits[:5]))
    by_doc = index.rows_by("doc_id")
    first: dict[str, Candidate] = {}
    for doc_id in doc_ids:
        doc = index.documents[doc_id]
        people = {p.name: p for p in index.people.get(doc_id, [])}
        for row in by_doc.get(doc_id, []):
            passage = index.passages[row]
            person = people.get(passage.speaker or "")
            # A country ("…, says UK") or a plural ("the UK and German defence ministers") is not a person quoted.
            plural = any(w[:1].islower() and w not in ("of", "de", "von", "van", "der", "al", "bin") for w in person.name.split()) if person else False
            if person is None or country_of(person.name) or plural or person.name in first:
                continue
            # Their introduction: the first of their sentences that names them.
            mine = [r for r in index.rows_by("speaker").get(person.name, []) if index.passages[r].doc_id == doc_id]
            spans = [(r, s) for r in mine for s in index.passages[r].sentences
                     if names(doc.text[s[0]:s[1]], person.name, person)] or [(row, passage.sentences[0])]
            r, span = spans[0]
            first[person.name] = Candidate(r, span, doc.text[span[0]:span[1]], 1.0, 1.0, person.name)
    if not first:
        return "nobody is quoted in them."
    chosen = list(first.values())[:6]
    budget = MAX_LONG_ANSWER_CHARS // len(chosen) - 5
    return [quote(index, c, terms(c.speaker or ""), budget=budget, keep_end=False) for c in chosen]
