"""Scoring: how well each sentence answers a question; shared by every form.

Each sentence gets named `Features` (see `weights`): the cosine similarity of
its passage to the question; the IDF-weighted share of the question's topic it
covers, apart by how (the sentence, its speaker and role, a synonym or the
countries of a region the question names; only a word near in meaning to one
no document has; only its setting: the document's headline and lead and the
names and places of the sentences just before it, so "He said it was not clear
how many troops were involved" covers "North Korean" from its article);
whether it can hold the kind of answer asked for; and tie-breakers (topic
words in the question's order, a person the question names, the question's
speech verb). The fitted `Weights` turn them into a confidence, for
abstaining, and a rank.

When the question asks what someone said or thought, only that actor's
sentences are eligible: spoken by the person, or narration naming them; for a
country or other body, sentences where it is the subject of a speech verb ("the
UK and Germany condemned …") or spoken by someone whose role names it ("Danish
infrastructure minister").

The kind check wants an answer beyond the question's own words: "where in
Russia" needs a place other than Russia; "how much does it cost" an amount of
money, not a date; "what is still unknown" a sentence that says something is
unclear. Direction counts: for "What is Russia giving North Korea?", a sentence
saying North Korea gives Russia something does not fit.

Left out: negation, tense, anything a parser would tell.
"""

import re
from dataclasses import dataclass

import numpy as np

from ..retrieval import Hit, idf, stopwords, terms
from ..speakers import SPEECH_VERBS, Person
from ..store import Index
from ..query import UNCERTAIN, Query, country_of
from ..weights import Features, fitted

# Confidence the best sentence must reach to be answered (fitted with the
# weights by bench/weights.py); see score_sentences for what confidence is.
MIN_CONFIDENCE = fitted().min_confidence

CANDIDATE_PASSAGES = 20
# How many sentences back a name or place still sets the scene.
CONTEXT_SENTENCES = 3
# Numbers, amounts and dates are found reliably: a sentence without one cannot say "how many".
_STRICT_KINDS = {"number", "money", "time"}

# Verbs whose subject states a view, for "the UK and Germany condemned …".
_STANCE_VERBS = SPEECH_VERBS | set("""
condemned condemns expressed expresses criticised criticized welcomed welcomes accused accuses called calls
described describes rejected rejects dismissed dismisses demanded demands reacted reacts responded
""".split())
_NUMBER_WORDS = set("""
two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred
hundreds thousand thousands million millions billion billions dozen dozens half percent per cent
""".split())
_MONTHS = set("""january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday""".split())
_TIME_WORDS = {"yesterday", "today", "tomorrow", "ago", "century", "decade", "year", "years", "week",
               "month", "morning", "evening", "night", "since", "until", "later", "earlier"}
_CURRENCY = (r"(?:pounds?|dollars?|euros?|yen|yuan|francs?|kron(?:er|or|a|e)|rupees?|roubles?|rubles?|pence|cents?|"
             r"USD|EUR|GBP|NOK|SEK|DKK|CHF|JPY)")
# An amount of money: "£40m", "$3 billion", "2.4 billion kroner", "400 euros".
_MONEY = re.compile(r"[£$€¥]\s?\d|\d(?:[\d,.]*)\s?(?:[£$€¥]|(?:bn|m)\b|(?:(?:million|billion|thousand|trillion)\s+)?"
                    + _CURRENCY + r"\b)", re.I)


@dataclass
class Candidate:
    row: int
    span: tuple[int, int]
    text: str
    score: float       # for ranking
    confidence: float  # for abstaining
    speaker: str | None = None
    features: Features = Features()


def score_sentences(q: Query, index: Index, hits: list[Hit], query_vector: np.ndarray,
                    *, rows: list[int] | None = None, actor: list[Person] | None = None) -> list[Candidate]:
    """Every sentence of the top hits (or of `rows`), scored for `q`.

    `actor` overrides the question's, for one side of a comparison."""
    weights = fitted()
    topic = q.topic
    actor = q.actor if actor is None else actor
    dense = {h.row: h.dense for h in hits[:CANDIDATE_PASSAGES]} if rows is None else {}
    wanted = [r for r in rows if r not in dense] if rows is not None else []
    if rows is None:
        by_speaker = index.rows_by("speaker")
        wanted = [r for p in (actor or q.people) for r in by_speaker.get(p.name, ()) if r not in dense]
    if wanted:
        dense.update(zip(wanted, (index.vectors[wanted] @ query_vector).tolist()))
    alts, related = q.alternatives, q.related
    # A term the documents lack but that has alternatives weighs as they do.
    term_weights = {t: min([idf(index, t)] + [idf(index, a) for a in alts.get(t, ())]) for t in topic}
    total = sum(term_weights.values())
    out = []
    for row, sim in dense.items():
        passage = index.passages[row]
        doc = index.documents[passage.doc_id]
        by_person = any(p.name == passage.speaker for p in q.people)
        by_actor = any(p.name == passage.speaker for p in actor)
        speaker_terms = set(terms(f"{passage.speaker} {index.role_of(passage)}")) if passage.speaker else set()
        for span in passage.sentences:
            text = doc.text[span[0]:span[1]]
            about_person = by_person or any(names(text, p.name, p) for p in q.people)
            if q.speech and actor and not (by_actor or (passage.speaker is None
                                                        and any(names(text, p.name, p) for p in actor))):
                continue  # "What did X say …": only X's words, or narration about X, will do
            if q.speech and q.actor_bodies and not q.actor and not any(
                    _states(text, f) or passage.speaker in f or _speaks_for(index.role_of(passage), f)
                    for f in q.actor_bodies):
                continue  # "Seoul's reaction": only what Seoul (South Korea) said
            sent_terms = terms(text)
            present = set(sent_terms) if q.kind == "identity" else set(sent_terms) | speaker_terms
            says_unknown = bool(q.uncertain) and bool(UNCERTAIN.search(text))
            if says_unknown:  # "still unknown" is what "it was not clear" says
                present |= q.uncertain
            setting = context_terms(index, row, span)
            covered = [0.0, 0.0, 0.0]  # by the sentence, only by meaning, only by its setting
            for t, w in term_weights.items():
                if t in present or alts.get(t, set()) & present:
                    covered[0] += w / total
                elif related.get(t, set()) & present:
                    covered[1] += w / total
                elif t in setting or alts.get(t, set()) & setting:
                    covered[2] += w / total
            if not total:  # "What did X say?": anything X says covers it
                covered[0] = 1.0 if (by_actor or by_person) else 0.0
            fit = fits_kind(text, q, passage.speaker)
            if fit == "fits" and reversed_direction(q, text):
                fit = "echo"  # it runs the other way: as good as only echoing the question
            if q.uncertain and not says_unknown:
                fit = "none"  # "What is still unknown?" wants a sentence that says something is unclear
            strict = q.kind in _STRICT_KINDS
            features = Features(
                similarity=sim, covered=covered[0], covered_by_meaning=covered[1], covered_by_setting=covered[2],
                kind_missing=float(fit == "none" and not strict), kind_missing_strict=float(fit == "none" and strict),
                echo=float(fit == "echo"), in_order=float(_in_order(topic, sent_terms)),
                about_person=float(bool(q.people) and about_person),
                speech_verb=float(bool(q.speech_verbs & set(sent_terms))))  # "warned" for "What did X warn about?"
            confidence = weights.confidence(features)
            out.append(Candidate(row, span, text, weights.rank(features, confidence), confidence, passage.speaker,
                                 features))
    return out


def ranked(candidates: list[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (-c.score, c.row, c.span))


def centrality(index: Index, rows: list[int]) -> dict[int, float]:
    """How central each passage is among `rows`: cosine to their mean. The
    sentences of a document or of one speaker that are closest to all the others
    carry its main point."""
    if not rows:
        return {}
    vectors = index.vectors[rows]
    centre = vectors.mean(axis=0)
    sims = vectors @ (centre / (np.linalg.norm(centre) or 1.0))
    return dict(zip(rows, sims.tolist()))


# Sentences whose setting is kept per index (a few hundred bytes each).
MAX_SETTINGS = 50_000


def context_terms(index: Index, row: int, span: tuple[int, int]) -> set[str]:
    """The setting a sentence inherits: its document's headline and lead, and
    the capitalised names of the few sentences before it."""
    return index.remember("setting", (row, span), lambda: _setting(index, row, span), limit=MAX_SETTINGS)


def _setting(index: Index, row: int, span: tuple[int, int]) -> set[str]:
    passage = index.passages[row]
    doc = index.documents[passage.doc_id]
    lead = index.derived.setdefault("lead", {})
    if passage.doc_id not in lead:
        first = sorted(s for r in index.rows_by("doc_id").get(passage.doc_id, [])[:3]
                       for s in index.passages[r].sentences)[:2]
        lead[passage.doc_id] = set(terms(doc.title)) | {
            t for s, e in first for t in terms(" ".join(_capitalised(doc.text[s:e])))}
    before = doc.text[max(0, span[0] - 600):span[0]]
    recent = re.split(r"(?<=[.!?”])\s+", before)[-CONTEXT_SENTENCES:]
    return lead[passage.doc_id] | {t for s in recent for t in terms(" ".join(_capitalised(s)))}


def _capitalised(text: str) -> list[str]:
    """Names and places in a sentence: capitalised words after its first."""
    found = re.findall(r"(?<=[\s(“‘\"'-])[A-Z][\w’'-]*", text)
    return [w for w in found if (not w.isupper() or len(w) > 1) and w.lower() not in stopwords()]


def fits_kind(text: str, q: Query, speaker: str | None = None) -> str:
    """"fits" when the sentence holds an answer of the kind asked for, beyond
    the question's own words; "echo" when all it holds of that kind is the
    question's own; else "none"."""
    return {True: "fits", False: "none", "echo": "echo"}[_kind_found(_part_about(text, q), q, speaker)]


def _part_about(text: str, q: Query) -> str:
    """The quoted words or the narration around them, whichever holds more of
    the question's topic: in "Speaking in Parliament, X said: “… troops …”", the
    answer to "where are the troops" must be in the quote, not "in Parliament"."""
    pieces = re.split(r"([“\"][^”\"]*[”\"]?)", text)
    quoted = " ".join(p for p in pieces if p[:1] in "“\"")
    said = " ".join(p for p in pieces if p and p[:1] not in "“\"")
    if not quoted.strip() or not said.strip():
        return text
    topic = set(q.topic)
    in_quote, in_said = len(topic & set(terms(quoted))), len(topic & set(terms(said)))
    return quoted if in_quote > in_said else said if in_said > in_quote else text


def _kind_found(text: str, q: Query, speaker: str | None) -> bool | str:
    kind = q.kind
    if kind in (None, "identity"):
        return True
    tokens = set(re.findall(r"(?<![\w-])[a-z]+(?![\w-])", text.lower()))  # not parts of "two-thirds"-like compounds
    new_tokens = {t for t in tokens & (_NUMBER_WORDS | _MONTHS | _TIME_WORDS) if not set(terms(t)) & q.question_terms}
    if kind == "money":
        return bool(_MONEY.search(text))
    if kind == "number":
        digits = re.findall(r"\d[\d,.]*", text)
        new = {d for d in digits if d.strip(",.") not in q.text}
        return bool(new) or bool(new_tokens & _NUMBER_WORDS) or ("echo" if digits else False)
    if kind == "time":
        years = re.findall(r"\b(1\d{3}|20\d{2})s?\b", text)
        new = [y for y in years if y not in q.text]
        return bool(new) or bool(new_tokens & (_MONTHS | _TIME_WORDS)) or ("echo" if years else False)
    if kind == "place":
        places = [p for p in re.findall(r"\b(?:in|at|from|near|to|into|along|across|outside|inside|around|including|"
                                        r"through|via|off|towards?) (?:the )?([A-Z][\w’'-]+(?: [A-Z0-9][\w’'-]+)*)", text)
                  if p.lower() not in _MONTHS]  # "in March" is a time
        if any(not set(terms(p)) & q.question_terms for p in places):
            return True
        # "Where in Russia …?": a sentence that names Russia and no other place only echoes the question.
        within = re.search(r"\bwhere\b[^?]*?\bin (?:the )?([A-Z][\w’'-]+)", q.text, re.I)
        named = within and set(terms(within.group(1))) & set(terms(text))
        return "echo" if places or named else False
    if kind == "person":
        if speaker and not set(terms(speaker)) & q.question_terms:
            return True
        # The first word counts too: "Sanders was his top receiver".
        return any(not set(terms(w)) & q.question_terms for w in _capitalised(" " + text))
    return True


def reversed_direction(q: Query, text: str) -> bool:
    """"What is Russia giving North Korea?" against "North Korea … to Russia":
    two countries or people either side of a verb in the question (see
    `question.direction`), the other way round in the sentence."""
    if not q.direction:
        return False
    a, b = q.direction
    if not b:  # the giver alone: named first as a recipient ("… weapons to Russia")
        at_a = _position(text, a)
        return at_a is not None and bool(re.search(r"\b(?:to|into|for)\s+(?:the\s+)?$", text[:at_a]))
    at_a, at_b = _position(text, a), _position(text, b)
    return at_a is not None and at_b is not None and at_b < at_a


def _position(text: str, name: str) -> int | None:
    country = country_of(name)
    forms = country.forms if country else (name,)
    found = [m.start() for f in forms for m in [re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text)] if m]
    return min(found) if found else None


def _speaks_for(role: str, forms: tuple[str, ...]) -> bool:
    """A "Danish infrastructure minister" speaks for Denmark."""
    return bool(role) and any(re.search(rf"\b{re.escape(f)}(?:['’]s)?\b", role) for f in forms)


def _states(text: str, forms: tuple[str, ...]) -> bool:
    """The body named by one of `forms` is the subject of a speech or stance verb:
    named within a few words before it ("the UK and Germany condemned")."""
    for m in re.finditer(r"\b(" + "|".join(re.escape(f) for f in forms) + r")\b", text):
        after = re.findall(r"[\w’'-]+", text[m.end():])[:5]
        if any(w.lower() in _STANCE_VERBS for w in after):
            return True
    return False


def _in_order(topic: list[str], sent_terms: list[str]) -> int:
    """Topic words that follow each other in the question and in the sentence
    ("Russia providing") point at the sentence that says it, not one that only
    shares the words: how many such pairs, up to two."""
    pairs = set(zip(sent_terms, sent_terms[1:]))
    return min(2, sum((a, b) in pairs for a, b in zip(topic, topic[1:])))


def names(text: str, name: str, person: Person | None = None) -> bool:
    aliases = person.aliases() if person else [name, name.split()[-1]]
    return any(re.search(rf"(?<!\w){re.escape(a)}(?!\w)", text, re.IGNORECASE) for a in aliases)
