"""Generative: a model writes the answer, and only what its citations support is kept.

`GenerativeAnswerer` first finds the extractive answer. When that abstains, the
abstention stands: a model is not asked what the documents do not say. Else the
model reads the passages the extractive answer cites, then the best others
(`generation.prompt`), and writes a draft. The draft is split into sentences,
and each is kept only when `check` finds it supported:

1. it cites at least one of the numbered passages;
2. every name, number and date it holds appears in the passages it cites (or
   is the speaker of one of them), so does every denial ("not", "never",
   "unlikely" …), and what it puts in quotation marks is their words;
3. its content is close to theirs: cosine similarity, with the embedding model
   of the index, to the closest sentence of a cited passage of at least
   `MIN_SIMILARITY`, and at least `MIN_OVERLAP` of its content words (stemmed,
   stop words left out) found in the cited passages.

The thresholds were chosen on the project's dev sets (`bench/thresholds.py`,
results in `bench/results/thresholds.json`): claims of the article checked
against the passage that holds them and against the passages of other
questions. Names and numbers are the strongest check: alone they reject 61%
of the unsupported pairs and none of the supported ones.

A written answer keeps to the quoted answers' length (400 characters, 700 for
a summary, list or comparison): the sentences that fit, in order. Supported
is not enough: the written answer must also answer the question, as fully
as the extractive answer does, so each sentence that answer quotes must be
restated by a kept sentence (half the content words of the shorter in common,
`SAME_CLAIM`); the model may reword, combine and add, not leave out. Kept sentences are renumbered to the passages they
cite. When no sentence is kept or none restates the answer, or the model
refuses, fails or runs out of time, the answer is the extractive one, with a
note that says why. `Answer.generated`,
`Answer.sentences` and `Answer.dropped` say what happened.

What the check cannot see: a sentence that keeps its sources' words and
turns their meaning (antonyms, "from 12,000 to 1,500", who said what beyond
the name appearing in a cited passage). The last sentence of a draft cut off
at the token limit is dropped: a prefix of a source passes every check.

Left out: entailment models (none ships offline with this project).
"""

import re
import threading
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..chunking import Passage, with_score
from ..errors import GenerationError, one_line
from ..generation import MAX_PASSAGES, REFUSAL, Generator, draft, prompt
from ..lexical import fold, stopwords, terms
from ..retrieval import Hit
from ..store import Index
from .result import MAX_ANSWER_CHARS, MAX_LONG_ANSWER_CHARS, Answer, Dropped, Sentence

# Chosen on the dev sets (bench/thresholds.py): with names and numbers checked,
# these keep 80 of the 81 claims with the passage that holds them, and reject
# 1,842 of 1,863 pairs of a claim with another question's passage. Overlap 0.6,
# not the 0.7-0.8 that rejects a few more pairs, leaves room for a model that
# rewords its source; the similarity is to the source's closest sentence,
# which for a short claim can be low (the supported claims' 5th percentile is 0.34).
MIN_SIMILARITY = 0.3
MIN_OVERLAP = 0.6
# A written answer is used only when each of the quoted answer's sentences is
# restated by one of its sentences (this share of the shorter's content words
# in common): supported is not enough, it must also answer the question.
SAME_CLAIM = 0.5

_MARKERS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_LEAD = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"\b[^\W\d_][\w’'-]*")
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update(thirty="30", forty="40", fifty="50", sixty="60", seventy="70", eighty="80", ninety="90",
                     hundred="100", thousand="1000", million="1000000", billion="1000000000", dozen="12",
                     half="", twice="")
# A denial the sources do not make turns their words around ("no troops were sent").
_NEGATIONS = re.compile(r"\b(?:not|no|never|none|nobody|nothing|neither|nor|without|unlikely)\b|\w+n[’']t\b", re.I)


@dataclass(frozen=True)
class Checked:
    """One sentence of a draft: its text without markers, the passages it cites
    (1-based, as numbered in the prompt), and why it was dropped ("" if kept)."""

    text: str
    cites: tuple[int, ...]
    problem: str


@dataclass(frozen=True)
class Progress:
    """A written answer while the model writes it, as a page may show it: how
    many words are written, and only the sentences already checked, each kept
    (text, and the passages it cites as numbered in the prompt) or dropped."""

    words: int
    kept: tuple[Checked, ...] = ()
    dropped: tuple[Dropped, ...] = ()


class _Checking:
    """Checks a growing draft a sentence at a time: a sentence is complete once
    the model has begun the next one."""

    def __init__(self, passages: list[Passage], index: Index, on_progress: Callable[[Progress], None]):
        self.passages, self.embedder, self.on_progress = passages, index.embedder(), on_progress
        self.checked: list[Checked] = []

    def __call__(self, text: str) -> None:
        complete = split(text)[:-1]
        for sentence, cites in complete[len(self.checked):]:
            self.checked.append(_checked(sentence, cites, self.passages, self.embedder))
        kept = tuple(dict.fromkeys(c for c in self.checked if not c.problem))  # small models repeat themselves
        self.on_progress(Progress(len(text.split()), kept, _dropped(self.checked)))


class GenerativeAnswerer:
    """The model's answer where its citations support it; else the extractive one."""

    def __init__(self, generator: Generator, extractive, *, history: list[str] = (), timeout: float | None = None,
                 on_draft: Callable[[str], None] | None = None, on_progress: Callable[[Progress], None] | None = None,
                 stop: threading.Event | None = None):
        self.generator, self.extractive, self.history = generator, extractive, list(history)
        self.timeout, self.on_draft, self.on_progress, self.stop = timeout, on_draft, on_progress, stop

    def __call__(self, question: str, index: Index, hits: list[Hit], query_vector: np.ndarray) -> Answer:
        quoted = self.extractive(question, index, hits, query_vector)
        if quoted.abstained:
            return quoted
        passages = _passages(index, quoted, hits)
        checking = _Checking(passages, index, self.on_progress) if self.on_progress else None

        def grew(text: str) -> None:
            if self.on_draft:
                self.on_draft(text)
            if checking:
                checking(text)

        try:
            text, cut = draft(self.generator, prompt(question, passages, self.history), timeout=self.timeout,
                              on_draft=grew, stop=self.stop)
        except GenerationError as exc:
            return replace(quoted, note=f"{exc}; quoted instead")
        except Exception as exc:  # a model library's own failure: the reader still gets the quoted answer
            return replace(quoted, note=f"the model failed ({type(exc).__name__}: {one_line(exc)}); quoted instead")
        if self.stop is not None and self.stop.is_set():
            return replace(quoted, note="stopped; quoted instead")
        if not text.strip():
            return replace(quoted, note="the model wrote nothing; quoted instead")
        if REFUSAL.lower() in text.lower():
            return replace(quoted, note="the model found no answer in the passages; quoted instead")
        checked = verify(text, passages, index, cut=cut)
        kept, seen = [], set()
        for c in checked:
            if not c.problem and c.text not in seen:  # small models repeat themselves
                kept.append(c)
                seen.add(c.text)
        dropped = _dropped(checked)
        if not kept:
            return replace(quoted, dropped=dropped, note="no sentence the model wrote was supported by its "
                                                         "sources; quoted instead")
        kept = _within(kept, MAX_LONG_ANSWER_CHARS if len(quoted.text) > MAX_ANSWER_CHARS else MAX_ANSWER_CHARS)
        if not all(any(_same_claim(c.text, q) for c in kept) for q in _quotes(quoted)):
            return replace(quoted, dropped=dropped, note="the model's supported sentences left out part of the "
                                                         "answer; quoted instead")
        return compose_checked(question, kept, passages, dropped)


def _within(kept: list[Checked], budget: int) -> list[Checked]:
    """The first sentences that fit in `budget` characters with their markers,
    as a quoted answer must (a long sentence is not cut: its words are the model's)."""
    out, used = [], 0
    for c in kept:
        used += len(c.text) + 5 * len(c.cites) + 1
        if used > budget:
            break
        out.append(c)
    return out


def _quotes(answer: Answer) -> list[str]:
    """The sentences a quoted answer is made of, without markers and speakers."""
    return [p.text for p in answer.parts]


def _same_claim(written: str, quoted: str) -> bool:
    """Whether a written sentence restates a quoted one: half the content words
    of the shorter found in the other."""
    a, b = set(terms(written)), set(terms(quoted))
    return bool(a and b) and len(a & b) / min(len(a), len(b)) >= SAME_CLAIM


def _passages(index: Index, quoted: Answer, hits: list[Hit]) -> list[Passage]:
    """The extractive answer's citations, then the best other hits, once each."""
    chosen = list(quoted.citations)
    seen = {(p.doc_id, p.start) for p in chosen}
    for h in hits:
        if len(chosen) >= MAX_PASSAGES:
            break
        p = index.passages[h.row]
        if (p.doc_id, p.start) not in seen:
            seen.add((p.doc_id, p.start))
            chosen.append(with_score(p, h.score))
    return chosen[:MAX_PASSAGES]


def split(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """The draft's sentences and the passage numbers each cites. A marker that
    opens a line cites what follows it ("[2] (Healey) It looks …"); one after a
    sentence's full stop on the same line ("… held. [1]") cites that sentence."""
    import blingfire

    pieces: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        leads = bool(_LEAD.match(line))
        # "[1] (Pistorius) … [2] (Healey) …": on such a line each marker opens what follows it.
        for block in re.split(r"\s+(?=\[\d+(?:\s*,\s*\d+)*\])", line) if leads else [line]:
            opener = _LEAD.match(block)
            for i, sentence in enumerate(blingfire.text_to_sentences(block).split("\n")):
                sentence = sentence.strip()
                lead = _LEAD.match(sentence)
                if leads and i > 0 and opener and not lead:  # the block's later sentences: its passage too
                    sentence = f"{opener.group(0).strip()} {sentence}"
                if lead and pieces and i > 0 and not leads:
                    pieces[-1] += " " + lead.group(0).strip()
                    sentence = sentence[lead.end():].strip()
                if sentence:
                    pieces.append(sentence)
    out = []
    for sentence in pieces:
        cites = tuple(dict.fromkeys(int(n) for group in _MARKERS.findall(sentence) for n in group.split(",")))
        plain = " ".join(_MARKERS.sub(" ", sentence).split())
        plain = re.sub(r"\s+([.,;:!?])", r"\1", plain)
        if re.search(r"[^\W\d_]", plain):  # "2." alone numbers a list; it says nothing
            out.append((plain, cites))
    return out


def verify(text: str, passages: list[Passage], index: Index, *, cut: bool = False) -> list[Checked]:
    """Each sentence of `text`, checked against the passages it cites; with
    `cut` (the model stopped at its token limit), the last one is dropped."""
    embedder = index.embedder()
    sentences = split(text)
    return [_checked(sentence, cites, passages, embedder, cut=cut and i == len(sentences) - 1)
            for i, (sentence, cites) in enumerate(sentences)]


def _checked(sentence: str, cites: tuple[int, ...], passages: list[Passage], embedder, *, cut: bool = False) -> Checked:
    cited = [passages[n - 1] for n in cites if 1 <= n <= len(passages)]
    speaker, body = _speaker_label(sentence)
    problem = "it was cut off at the model's length limit" if cut else check(body, cited, embedder)
    # The label the prompt showed goes after the sentence, as quoted answers show
    # speakers, only when every passage it cites is that speaker's.
    if speaker and cited and all(p.speaker == speaker for p in cited):
        body = f"{body} — {speaker}"
    return Checked(body, cites, problem)


def _dropped(checked: list[Checked]) -> tuple[Dropped, ...]:
    return tuple(Dropped(c.text, c.problem) for c in checked if c.problem)


def _speaker_label(sentence: str) -> tuple[str, str]:
    """A speaker label copied from the prompt ("(Healey) It looks …"): (speaker, the rest)."""
    label = re.match(r"\(([^()]{1,80})\)\s*", sentence)
    if label and sentence[label.end():].strip():
        return label.group(1), sentence[label.end():].strip()
    return "", sentence


def check(sentence: str, cited: list[Passage], embedder) -> str:
    """Why the `cited` passages do not support `sentence`, or "" when they do."""
    if not cited:
        return "it cites no passage it was given"
    sentence = _MARKERS.sub("", sentence)
    source = " ".join([p.text for p in cited] + [p.speaker for p in cited if p.speaker])
    folded, numbers = fold(source), {n.replace(",", "") for n in _NUMBER.findall(source)}
    missing = [f for f in facts(sentence) if not _holds(folded, numbers, f)]
    if missing:
        return "its sources never mention " + ", ".join(f"“{m}”" for m in missing)
    plain = _plain(source)
    denied = [w for w in _NEGATIONS.findall(sentence) if not _mentions(plain, _plain(w))]
    if denied:
        return f"it says “{denied[0]}” where its sources do not"
    said = re.sub(r"\s+—\s+([^—]+)$", lambda m: "" if any(p.speaker == m.group(1) for p in cited) else m.group(0),
                  sentence)  # without the speaker shown after it
    misquoted = [q for q in quotations(said) if not _mentions(plain, _plain(q))]
    if misquoted:
        return f"it quotes words its sources do not say: “{misquoted[0]}”"
    words = set(terms(sentence))
    if words:
        found = words & set(terms(source))
        if len(found) / len(words) < MIN_OVERLAP:
            return f"only {len(found)} of its {len(words)} words are in its sources"
    similarity = closeness(sentence, cited, embedder)
    if similarity < MIN_SIMILARITY:
        return f"it says something else than its sources (similarity {similarity:.2f})"
    return ""


def quotations(sentence: str) -> list[str]:
    """What a sentence puts in quotation marks (to its end, if a quote is left
    open): a quote must be its source's words, not a paraphrase of them."""
    inside = []
    for opened, closed in (("“", "”"), ("‘", "’"), ("«", "»"), ("„", "“")):
        inside += [part.split(closed)[0] for part in sentence.split(opened)[1:]]
    inside += sentence.split('"')[1::2]  # straight quotes: every other piece is quoted
    return [q.strip() for q in inside if q.strip(" .,;:!?…")]


def _plain(text: str) -> str:
    """Text compared for quoting: accents, case, quote marks, dashes, spacing and end punctuation folded."""
    text = fold(text).translate(str.maketrans("‘’“”–—", "''\"\"--"))
    return " ".join(re.sub(r"[^\w\s',-]", " ", text).split())


def closeness(sentence: str, cited: list[Passage], embedder) -> float:
    """Cosine similarity of `sentence` to the closest sentence of the cited passages (or a whole passage)."""
    candidates = [p.text for p in cited]
    for p in cited:
        candidates += [p.text[s - p.start:e - p.start] for s, e in p.sentences if e - s > 0]
    vectors = embedder.encode([sentence] + list(dict.fromkeys(candidates)))
    return float((vectors[1:] @ vectors[0]).max())


def facts(sentence: str) -> list[str]:
    """The names, numbers and dates of a sentence: each must be in its sources.
    A capitalised first word counts only when it is not a common word ("The", "He")."""
    found = []
    words = _CAPITALISED.findall(sentence)
    for i, word in enumerate(words):
        word = re.sub(r"[’']s$", "", word)
        if not word[0].isupper() or len(word) < 2:
            continue
        if i == 0 and (fold(word) in stopwords() or fold(word) in _COMMON_OPENERS) or word.lower() in _NUMBER_WORDS:
            continue
        found.append(word)
    found += _NUMBER.findall(sentence)
    found += [w for w in re.findall(r"[a-z]+", sentence.lower()) if w in _NUMBER_WORDS and _NUMBER_WORDS[w]]
    return list(dict.fromkeys(found))


# Capitalised only because they open a sentence.
_COMMON_OPENERS = {"according", "also", "both", "however", "in", "on", "at", "the", "this", "these", "they",
                   "he", "she", "it", "we", "there", "while", "although", "as", "after", "before", "despite",
                   "meanwhile", "yes", "no"}


def _holds(folded: str, numbers: set[str], fact: str) -> bool:
    """Whether a source (`folded`, its `numbers` without thousands separators)
    holds `fact`: a word (accents and case folded), a number or a number word
    (or its digits)."""
    if fact[0].isdigit():
        return fact.replace(",", "") in numbers
    if fact.lower() in _NUMBER_WORDS:
        return _mentions(folded, fact.lower()) or _NUMBER_WORDS[fact.lower()] in numbers
    return _mentions(folded, fold(fact))


def _mentions(text: str, phrase: str) -> bool:
    """`phrase` in `text` as whole words."""
    return bool(re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text))


def compose_checked(question: str, kept: list[Checked], passages: list[Passage],
                    dropped: tuple[Dropped, ...]) -> Answer:
    """The answer of the kept sentences, each cited by the passages it cites,
    numbered in the order they are first cited."""
    order: dict[int, int] = {}
    sentences = []
    for c in kept:
        numbers = [order.setdefault(n, len(order) + 1) for n in c.cites if 1 <= n <= len(passages)]
        marks = "".join(f" [{n}]" for n in numbers)
        sentences.append(Sentence(c.text + marks, tuple(numbers), generated=True, verified=True))
    citations = [passages[n - 1] for n in order]
    text = " ".join(s.text for s in sentences)
    return Answer(question, text, False, citations, generated=True, sentences=tuple(sentences), dropped=dropped)


def unsupported(answer: Answer, index: Index) -> list[str]:
    """The sentences of any answer, generated or quoted, that fail `check`
    against the passages they cite, each with the reason; [] for an abstention."""
    if answer.abstained:
        return []
    if answer.generated:
        pieces = [(_MARKERS.sub("", s.text).strip(), s.citations) for s in answer.sentences]
    else:
        pieces = [(p.shown, (p.citation,)) for p in answer.parts]
        if not pieces:  # text that no part accounts for: nothing says where its words come from
            return [f"{answer.text!r}: no part of it cites a source"]
    embedder = index.embedder()
    problems = []
    for text, cites in pieces:
        cited = [answer.citations[n - 1] for n in cites if 1 <= n <= len(answer.citations)]
        if problem := check(text, cited, embedder):
            problems.append(f"{text!r}: {problem}")
    return problems
