"""Evaluation: score `ask` and `retrieve` on a question file.

The file is JSON lines, one question an object, as in the project's article sets:
`id`, `question`, `answers` (acceptable short answers), `evidence` (exact
substrings of the documents that support an answer) and `answerable`; optional
`type` (reported apart), `history` (earlier questions of the conversation, oldest
first), `all_of` (parts, each a list of alternatives, that must all be in the
answer) and `max_chars` (the length limit, default 400).

An answerable question is correct when the answer does not abstain, its text
holds a gold answer (and one alternative of every `all_of` part), one of its
citations holds a gold evidence string, and it is at most `max_chars` long; an
unanswerable one is correct when the answer abstains. Strings are compared after lower-casing, unifying curly and straight
quotes and folding punctuation and whitespace. Retrieval hit@k: one of the top k
passages holds an evidence string (answerable questions only).

Left out: token-overlap F1 and the SQuAD benchmarks (see bench/).
"""

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .api import ask, load_index, retrieve
from .errors import RagError
from .files import NotAFileError, TooLargeError, read_regular


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    answers: list[str]
    evidence: list[str]
    answerable: bool
    type: str = ""
    history: tuple[str, ...] = ()
    all_of: tuple[tuple[str, ...], ...] = ()
    max_chars: int = 400


@dataclass(frozen=True)
class Outcome:
    id: str
    type: str
    question: str
    answer: str
    abstained: bool
    correct: bool
    hit_rank: int | None  # 1-based rank of the first passage holding evidence
    seconds: float
    generated: bool = False      # with a generator: the answer is the model's
    sentences_written: int = 0   # sentences the model wrote
    sentences_kept: int = 0      # of those, kept (supported by their citations)
    fell_back: bool = False      # the model was asked, and the answer is quoted instead
    unsupported: int = 0         # sentences of the answer that fail the check (must be 0)


@dataclass(frozen=True)
class Report:
    outcomes: list[Outcome]
    accuracy: float
    answerable_accuracy: float
    abstention_accuracy: float   # unanswerable questions that were abstained on
    false_abstentions: int       # answerable questions abstained on
    hit_at_1: float
    hit_at_3: float
    max_answer_chars: int
    latency_p50_ms: float
    latency_p99_ms: float
    generator: str | None = None
    generated_answers: int = 0
    sentences_written: int = 0
    sentences_kept: int = 0
    fallbacks: int = 0
    unsupported_sentences: int = 0
    seconds_per_answer: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def normalise(text: str) -> str:
    text = text.lower().translate(str.maketrans("“”„‟‘’‚‛", "\"\"\"\"''''"))
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


# A question file larger than this is not a question set.
MAX_CASES_BYTES = 64 * 1024 * 1024


def read_cases(path) -> list[Case]:
    path = Path(path)
    try:
        lines = read_regular(path, MAX_CASES_BYTES).decode("utf-8").splitlines()
    except FileNotFoundError:
        raise RagError(f"{path}: no such file") from None
    except (NotAFileError, TooLargeError) as exc:
        raise RagError(f"{exc}; give a JSON-lines question file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path, or bytes that are not UTF-8
        raise RagError(f"{path}: cannot read it ({exc})") from None
    cases = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            cases.append(_case(json.loads(line)))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
            raise RagError(f"{path}:{n}: not a question object ({' '.join(why.split())[:200]})") from None
    if not cases:
        raise RagError(f"{path}: no questions in this file")
    return cases


def _case(row) -> Case:
    """One question object, checked field by field: a wrong type is bad input, not a crash later."""
    if not isinstance(row, dict):
        raise TypeError("each line must be a JSON object")
    question = row["question"]
    if not isinstance(question, str):
        raise TypeError("'question' must be a string")
    all_of = row.get("all_of", [])
    if not isinstance(all_of, list):
        raise TypeError("'all_of' must be a list of lists of strings")
    max_chars = row.get("max_chars", 400)
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or not 1 <= max_chars <= 1_000_000:
        raise ValueError("'max_chars' must be a whole number from 1 to 1,000,000")
    return Case(str(row["id"]), question, list(_texts(row, "answers")), list(_texts(row, "evidence")),
                bool(row.get("answerable", True)), str(row.get("type", "")), _texts(row, "history"),
                tuple(_texts({"all_of": part}, "all_of") for part in all_of), max_chars)


def _texts(row: dict, key: str) -> tuple[str, ...]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"'{key}' must be a list of strings")
    return tuple(value)


def evaluate(cases: list[Case], index=None, *, generator=None) -> Report:
    """Score every case; with `generator`, the model writes and its sentences
    are counted (written, kept, answers quoted instead), and every answer's
    sentences are checked again against their citations."""
    from .answer.generative import unsupported

    opened = load_index(index)
    if generator is not None:
        from .generation import generator_for

        generator = generator_for(generator)
    ask(cases[0].question, opened)  # warm-up: model load and lazy structures
    outcomes = []
    for case in cases:
        start = time.perf_counter()
        answer = ask(case.question, opened, history=list(case.history), generator=generator)
        seconds = time.perf_counter() - start
        written = len(answer.sentences) + len(answer.dropped)
        extra = dict(generated=answer.generated, sentences_written=written,
                     sentences_kept=len(answer.sentences), fell_back=bool(answer.note),
                     unsupported=len(unsupported(answer, opened)) if generator is not None else 0)
        evidence = [normalise(e) for e in case.evidence]
        if case.answerable:
            text = normalise(answer.text)
            correct = (
                not answer.abstained
                and any(normalise(a) in text for a in case.answers)
                and all(any(normalise(a) in text for a in part) for part in case.all_of)
                and any(e in normalise(c.text) for c in answer.citations for e in evidence)
                and len(answer.text) <= case.max_chars
            )
            passages = retrieve(case.question, k=3, index=opened)
            hit = next((r for r, p in enumerate(passages, 1) if any(e in normalise(p.text) for e in evidence)), None)
        else:
            correct, hit = answer.abstained, None
        outcomes.append(Outcome(case.id, case.type, case.question, answer.text, answer.abstained, correct, hit, seconds,
                                **extra))

    answerable = [o for o, c in zip(outcomes, cases) if c.answerable]
    unanswerable = [o for o, c in zip(outcomes, cases) if not c.answerable]
    times = [o.seconds * 1000 for o in outcomes]
    return Report(
        outcomes=outcomes,
        accuracy=_share(o.correct for o in outcomes),
        answerable_accuracy=_share(o.correct for o in answerable),
        abstention_accuracy=_share(o.abstained for o in unanswerable),
        false_abstentions=sum(o.abstained for o in answerable),
        hit_at_1=_share(o.hit_rank == 1 for o in answerable),
        hit_at_3=_share(o.hit_rank is not None for o in answerable),
        max_answer_chars=max(len(o.answer) for o in outcomes),
        latency_p50_ms=percentile(times, 50),
        latency_p99_ms=percentile(times, 99),
        generator=getattr(generator, "name", None),
        generated_answers=sum(o.generated for o in outcomes),
        sentences_written=sum(o.sentences_written for o in outcomes),
        sentences_kept=sum(o.sentences_kept for o in outcomes),
        fallbacks=sum(o.fell_back for o in outcomes),
        unsupported_sentences=sum(o.unsupported for o in outcomes),
        seconds_per_answer=sum(o.seconds for o in outcomes) / len(outcomes),
    )


def by_type(report: Report) -> dict[str, tuple[int, int]]:
    """(correct, total) for each question type, in order of first appearance."""
    table: dict[str, tuple[int, int]] = {}
    for o in report.outcomes:
        right, total = table.get(o.type or "-", (0, 0))
        table[o.type or "-"] = (right + o.correct, total + 1)
    return table


def _share(flags) -> float:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else float("nan")


def percentile(values, pct: float) -> float:
    """The `pct`th percentile, interpolated between neighbours (NumPy's default)."""
    values = sorted(values)
    if not values:
        return float("nan")
    rank = (len(values) - 1) * pct / 100
    lo = int(rank)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (rank - lo)
