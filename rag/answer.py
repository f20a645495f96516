"""Answer: choose the sentence that answers a question and quote it, cited; or
say that the documents don't say.

The extractive answerer never writes a sentence of its own. It reads the
question (`read_question`) for:

- the people it names, by name, surname or role ("the Defence Secretary");
- its topic: the content terms left once names, question words and speech
  verbs ("say", "describe") are removed;
- the kind of answer it wants: a number ("how many"), a time ("when"),
  a place ("where"), or who someone is ("who is");
- capitalised names that no document contains.

It then scores every sentence of the retrieved passages, plus everything the
named people say, by cosine similarity of its passage to the question plus the
IDF-weighted share of the topic it covers (the speaker counts as covered text),
with a bonus for topic words in the question's order and for sentences by or
about a person the question names, and a penalty when the sentence cannot hold
the kind of answer asked for. When the question asks what someone said ("What
did X say/tell/warn …"), only sentences spoken by, or mentioning, that person
are eligible.

It abstains when the question names something no document mentions, when
nothing by the person asked about matches, or when the best sentence covers
too little of the topic for its similarity. Abstention is the honest answer,
not an error: `Answer.abstained` is true and `Answer.text` says why.

The answer is the best sentence, verbatim (cut to a window with "…" if longer
than `MAX_ANSWER_CHARS`), then its speaker when the sentence does not name them,
then a citation marker `[1]` pointing to `Answer.citations[0]`. When another
sentence scores nearly as well (within 10%), it follows as `[2]`, if both fit in
`MAX_ANSWER_CHARS`: a near tie is shown to the reader rather than decided
silently.

Anything implementing `Answerer` can replace this step (a generative model, say).

Left out: answers spread over sentences far apart, arithmetic, yes/no verdicts.
"""

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import numpy as np

from .chunking import Passage, Person, with_score
from .retrieval import Hit, fold, idf, in_vocabulary, stopwords, terms, words
from .store import Index

MAX_ANSWER_CHARS = 400
CANDIDATE_PASSAGES = 20

# Confidence the best sentence must reach: the similarity of its passage to the
# question plus the share of the question's topic it covers (less 0.5 when it
# cannot hold the kind of answer asked for).
MIN_CONFIDENCE = 0.75
# A sentence by or about the person a question names ("When did Lord Stirrup
# serve …?"), when the question does not ask what they said.
PERSON_BONUS = 0.1
# A second sentence joins the answer when it scores within 10% of the best.
RUNNER_UP = 0.9

_QUESTION_WORDS = {"what", "who", "whom", "whose", "when", "where", "why", "how", "which"}
# Words that carry no topic in a question (NLTK's English list, trimmed of
# negations, plus words questions are made of). BM25 keeps Lucene's shorter list.
_QUESTION_STOP = set("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
hers herself it its itself they them their theirs themselves what which who whom whose this that
these those am is are was were be been being have has had having do does did doing a an the and
but if or because as until while of at by for with about against between into through during
before after above below to from up down in out on off over under again further then once here
there when where why how all any both each few more most other some such only own same so than
too very s t can will just should now many much kind sort according also ever
""".split())
# "one" is left out: it is a pronoun as often as a number ("one-sided", "the one who").
_NUMBER_WORDS = set("""
two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred
hundreds thousand thousands million millions billion billions dozen dozens half percent per cent
""".split())
_MONTHS = set("""january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday""".split())
_TIME_WORDS = {"yesterday", "today", "tomorrow", "ago", "century", "decade", "year", "years", "week",
               "month", "morning", "evening", "night", "since", "until", "later", "earlier"}


@dataclass(frozen=True)
class Answer:
    """What `ask` returns: the answer text with citation markers [1], [2] … that
    index into `citations` (1-based), or an abstention."""

    question: str
    text: str
    abstained: bool
    citations: list[Passage] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"question": self.question, "answer": self.text, "abstained": self.abstained,
                "citations": [p.to_json() for p in self.citations]}


class Answerer(Protocol):
    def __call__(self, question: str, index: Index, hits: list[Hit], query_vector: np.ndarray) -> Answer:
        """Answer `question` from `hits` (best first) in `index`."""


@dataclass
class Question:
    text: str
    people: list[Person]
    name_terms: set[str]
    topic: list[str]
    unknown_names: list[str]
    kind: str | None
    speech_verbs: set[str]  # "warn" in "What did X warn about?"


@dataclass
class _Candidate:
    row: int
    span: tuple[int, int]
    text: str
    score: float       # for ranking
    confidence: float  # for abstaining


@lru_cache(maxsize=1)
def _meta_terms() -> frozenset[str]:
    """Words that ask for speech rather than name a topic: "what did X say about …"."""
    return frozenset(terms(
        "say said says tell told describe described think thought mention mentioned according "
        "state stated claim claimed warn warned add added suggest suggested talk speak spoke comment "
        "explain explained believe view react respond responded call called ask asked"
    ))


_TOKEN = re.compile(r"\w+(?:[-.]\w+)*")


def named_people(question: str, index: Index) -> list[tuple[Person, tuple[int, int]]]:
    """The people a question names (by name, surname or role), with where it names them.

    Longest matches first: "Boris Pistorius" is one mention, not two."""
    table, longest = _alias_table(index)
    tokens = [(fold(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(question)]
    found: list[tuple[Person, tuple[int, int]]] = []
    taken = [False] * len(tokens)
    for size in range(min(longest, len(tokens)), 0, -1):
        for i in range(len(tokens) - size + 1):
            if any(taken[i:i + size]):
                continue
            people = table.get(" ".join(t for t, _, _ in tokens[i:i + size]))
            if people:
                taken[i:i + size] = [True] * size
                for person in people:
                    if all(p.name != person.name for p, _ in found):
                        found.append((person, (tokens[i][1], tokens[i + size - 1][2])))
    return sorted(found, key=lambda f: f[1])


def _alias_table(index: Index) -> tuple[dict[str, list[Person]], int]:
    """Alias (lower-cased words) -> people, built once per index."""
    if "aliases" not in index.derived:
        table: dict[str, list[Person]] = {}
        for people in index.people.values():
            for person in people:
                for alias in person.aliases():
                    key = " ".join(_TOKEN.findall(fold(alias)))
                    # A one-word role ("President") names too many people to narrow a question down.
                    if key and not (alias == person.role and " " not in key):
                        table.setdefault(key, []).append(person)
        index.derived["aliases"] = (table, max((k.count(" ") + 1 for k in table), default=0))
    return index.derived["aliases"]


def read_question(question: str, index: Index) -> Question:
    lowered = question.lower()
    named = named_people(question, index)
    people = [person for person, _ in named]
    name_terms = set()
    for _, (s, e) in named:
        name_terms.update(terms(question[s:e]))

    kind = _answer_kind(lowered)
    content = " ".join(w for w in words(question) if w.lower() not in _QUESTION_STOP)
    topic = [t for t in dict.fromkeys(terms(content)) if t not in name_terms and t not in _meta_terms()]
    # "What is it called?" asks for a name, not for what someone said.
    asked_verbs = set(terms(question)) & _meta_terms() - {"call"}
    if kind == "identity":
        topic = list(dict.fromkeys(topic + [t for p in people for t in terms(f"{p.name} {p.role}")]))

    # Capitalised words after the first that no document contains, with their
    # neighbours kept together: "Emmanuel Macron", not "Emmanuel", "Macron".
    unknown, run = [], []
    for n, w in enumerate([*words(question), ""]):
        # Acronyms and codes ("WWI", "O3") may be spelt out in the text, so they alone prove nothing.
        acronym = w.isupper() or any(c.isdigit() for c in w)
        known = (n == 0 or not w[:1].isupper() or acronym or w.lower() in _QUESTION_WORDS or w == "I"
                 or w.lower() in stopwords() or all(in_vocabulary(index, t) for t in terms(w)))
        if known:
            if run:
                unknown.append(" ".join(run))
            run = []
        else:
            run.append(w)
    return Question(question, people, name_terms, topic, list(dict.fromkeys(unknown)), kind, asked_verbs)


def _answer_kind(q: str) -> str | None:
    if re.match(r"\s*(how (many|much|long|old|far|big)|what (number|percentage|share|proportion))\b", q):
        return "number"
    if re.match(r"\s*(when|what (year|date|time|day|month)|since when|in what year|in which year)\b", q):
        return "time"
    if re.match(r"\s*(where|in what (city|country|place)|in which (city|country|place))\b", q):
        return "place"
    if re.match(r"\s*(who (is|was|are|were)|what (is|was) (the )?(role|job|position|title|post) of)\b", q):
        return "identity"
    return None


def _fits_kind(text: str, kind: str | None) -> bool:
    lowered = text.lower()
    tokens = set(re.findall(r"(?<![\w-])[a-z]+(?![\w-])", lowered))  # not parts of "two-thirds"-like compounds
    if kind == "number":
        return bool(re.search(r"\d", text)) or bool(tokens & _NUMBER_WORDS)
    if kind == "time":
        return bool(re.search(r"\b(1\d{3}|20\d{2})s?\b", text)) or bool(tokens & (_MONTHS | _TIME_WORDS))
    if kind == "place":
        return bool(re.search(r"\b(in|at|from|near|to) (the )?[A-Z]", text))
    return True


class ExtractiveAnswerer:
    """Quotes the best sentence verbatim with its citation, or abstains."""

    def __call__(self, question: str, index: Index, hits: list[Hit], query_vector: np.ndarray) -> Answer:
        q = read_question(question, index)
        if q.unknown_names:
            names = ", ".join(f"“{n}”" for n in q.unknown_names)
            return _abstain(question, f"The documents don't say: they never mention {names}.")
        if q.topic and not any(in_vocabulary(index, t) for t in q.topic):
            return _abstain(question, "The documents don't say: none of the question's key words appear in them.")

        candidates = self._candidates(q, index, hits, query_vector)
        if not candidates:
            who = " or ".join(p.name for p in q.people) or "anyone"
            return _abstain(question, f"The documents don't say: nothing by or about {who} answers this.")
        ranked = sorted(candidates, key=lambda c: (-c.score, c.row, c.span))
        best = ranked[0]
        if best.confidence < MIN_CONFIDENCE:
            return _abstain(question, "The documents don't say: no passage answers this question.")
        chosen, quoted = [best], [_cited(index, best, q, 1)]
        # A near tie is shown, not hidden: the second sentence, cited too, if it fits.
        for other in ranked[1:3]:
            if (other.score >= RUNNER_UP * best.score and other.confidence >= MIN_CONFIDENCE
                    and other.text != best.text and _fits_kind(other.text, q.kind)):
                second = _cited(index, other, q, 2)
                if len(quoted[0]) + len(second) < MAX_ANSWER_CHARS:
                    chosen.append(other)
                    quoted.append(second)
                    break
        return Answer(question, " ".join(quoted), False, [with_score(index.passages[c.row], c.score) for c in chosen])

    def _candidates(self, q: Question, index: Index, hits: list[Hit], query_vector: np.ndarray) -> list[_Candidate]:
        dense = {h.row: h.dense for h in hits[:CANDIDATE_PASSAGES]}
        if q.people:
            by_speaker = index.rows_by("speaker")
            extra = [r for p in q.people for r in by_speaker.get(p.name, ()) if r not in dense]
            if extra:
                dense.update(zip(extra, (index.vectors[extra] @ query_vector).tolist()))
        weights = {t: idf(index, t) for t in q.topic}
        total = sum(weights.values())
        out = []
        for row, sim in dense.items():
            passage = index.passages[row]
            doc = index.documents[passage.doc_id]
            by_person = any(p.name == passage.speaker for p in q.people)
            speaker_terms = set(terms(f"{passage.speaker} {index.role_of(passage)}")) if passage.speaker else set()
            title_terms = set(terms(doc.title))
            for span in passage.sentences:
                text = doc.text[span[0]:span[1]]
                about_person = by_person or any(_names(text, p.name, p) for p in q.people)
                if q.people and q.speech_verbs and not about_person:
                    continue  # "What did X say …": only X's words, or words about X, will do
                sent_terms = terms(text)
                present = set(sent_terms) if q.kind == "identity" else set(sent_terms) | speaker_terms
                if total:
                    # The document's title is context for each of its sentences, at half weight.
                    cover = sum(w if t in present else w / 2 if t in title_terms else 0.0
                                for t, w in weights.items()) / total
                else:  # "What did X say?": anything X says covers it
                    cover = 1.0 if by_person else 0.0
                # Confidence is the evidence that the sentence answers; the
                # bonuses below only order sentences that are about as good.
                confidence = sim + cover - (0.0 if _fits_kind(text, q.kind) else 0.5)
                score = confidence + _in_order_bonus(q.topic, sent_terms)
                if q.people and about_person:
                    score += PERSON_BONUS
                if q.speech_verbs & set(sent_terms):  # "warned" for "What did X warn about?"
                    score += 0.1
                out.append(_Candidate(row, span, text, score, confidence))
        return out


def _cited(index: Index, candidate: _Candidate, q: Question, n: int) -> str:
    """A sentence as quoted in an answer: verbatim, its speaker if it does not
    name them, and its citation marker."""
    passage = index.passages[candidate.row]
    text = _quote(candidate.text, q.topic)
    if passage.speaker and not _names(candidate.text, passage.speaker):
        text += f" — {passage.speaker}"
    return f"{text} [{n}]"


def _in_order_bonus(topic: list[str], sent_terms: list[str]) -> float:
    """Topic words that follow each other in the question and in the sentence
    ("Russia providing") point at the sentence that says it, not one that only
    shares the words."""
    pairs = set(zip(sent_terms, sent_terms[1:]))
    return min(0.2, 0.1 * sum((a, b) in pairs for a, b in zip(topic, topic[1:])))


def _names(text: str, name: str, person: Person | None = None) -> bool:
    aliases = person.aliases() if person else [name, name.split()[-1]]
    return any(re.search(rf"(?<!\w){re.escape(a)}(?!\w)", text, re.IGNORECASE) for a in aliases)


def _quote(sentence: str, topic: list[str]) -> str:
    """The sentence, or the window of it that holds most topic words if it is too long."""
    budget = MAX_ANSWER_CHARS - 60  # room for the speaker and the citation marker
    if len(sentence) <= budget:
        return sentence
    positions = [m.start() for m in re.finditer(r"\w+", sentence) if set(terms(m.group())) & set(topic)]
    # Windows start a little before a topic word, and slide left to fit at the end.
    starts = [min(max(0, p - 60), len(sentence) - budget) for p in [0, *positions]]
    start = max(starts, key=lambda s: (sum(s <= p < s + budget - 10 for p in positions), -s))
    if start:
        start = sentence.find(" ", start) + 1
    end = start + budget - 2
    if end >= len(sentence):
        return "…" + sentence[start:]
    end = sentence.rfind(" ", start, end)
    return ("…" if start else "") + sentence[start:end].rstrip(" ,;:") + "…"


def _abstain(question: str, text: str) -> Answer:
    return Answer(question, text, True, [])
