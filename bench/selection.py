"""Fit the numbers that choose sentences and match words (rag/weights.py:
SELECTION and MATCHING) on training questions; check them on held-out ones.

These numbers act after scoring (a factoid's near tie, a list's further items,
a summary's lead, headline and redundancy, a comparison's sides, a later part's
bar) or before it (how close a reader's word must be to the documents' to stand
for it), so no offline model of them exists: every try asks the questions again
through `rag.ask`, with the try's values set where the answer step reads them.

Training questions (and how an answer is judged right; where an answer may
quote several sentences, it counts 1 when its first sentence is right and ½
when only a later one is, as a reader who stops at the first sentence would
judge it, so that quoting more never pays by itself):
- the two article dev sets (tests/data), as `rag eval` judges them;
- SQuAD v1.1 dev, the first half of its articles, open over one index of their
  paragraphs (`bench/weights.py` splits it the same way): questions (a gold
  answer in the text), the same questions asked of the other half's index (a
  refusal), and two questions of one paragraph asked as one ("Q1, and q2?":
  both gold answers in the text);
- PolNeAR train articles, one index each: "What did X say about Y?" for a
  named direct quotation (a quoted sentence inside it), X asked about another
  article's topic (a refusal), "Sum up X's position" for people quoted twice or
  more (a quoted sentence inside X's quotations and none inside anyone
  else's), and "How did X's view differ from Y's?" (a sentence inside each
  one's quotations, none inside a third person's).
Held-out: the same from SQuAD's other half and PolNeAR dev.

How: coordinate ascent from the hand-set values (rag/weights.py's defaults):
each number in turn tries a few values around its current one (shares and
cosines ±0.05/0.1/0.15, bonuses and weights ×0/½/¾/1½/2, the spelling score
±5/10); a try is kept when the mean of the training sets' accuracies rises and
the article sets lose no question (they are the product's acceptance test).
Only the questions a number can touch are asked again (a summary's numbers,
summaries; matching, all). Two rounds at most. The fit is adopted only if no
held-out set loses by it; else the start values stay, and the result says so.

Usage: .venv/bin/python bench/selection.py POLNEAR_PATH [--articles 150] [--squad-questions 600] [--only NAME ...] [--write]
Writes bench/results/selection.json; with --write also the SELECTION and
MATCHING values of rag/data/weights.json (run bench/weights.py first: this fit
is made with the feature weights installed).
"""

import argparse
import json
import random
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
import rag.answer as answer_package  # noqa: E402
from bench.common import add_training_data, machine, write_result  # noqa: E402
from bench.polnear import load, quoted_spans, same_speaker, topic_of  # noqa: E402
from bench.squad import halves, holds_answer  # noqa: E402
from rag.answer import comparison, factoid, listing, summary  # noqa: E402
from rag.evaluation import normalise, read_cases  # noqa: E402
from rag.query import read_question, split_parts, vocabulary  # noqa: E402
from rag.weights import MATCHING, SELECTION, WEIGHTS_FILE, Weights, fitted, write  # noqa: E402

# Where the answer step reads each number.
TARGETS = {"runner_up": (factoid, "RUNNER_UP"), "also": (listing, "ALSO"), "lead_bonus": (summary, "LEAD_BONUS"),
           "headline_bonus": (summary, "HEADLINE_BONUS"), "redundancy": (summary, "REDUNDANCY"),
           "repeat": (summary, "REPEAT"), "side_confidence": (comparison, "SIDE_CONFIDENCE"),
           "central_weight": (comparison, "CENTRAL_WEIGHT"),
           "later_part_confidence": (answer_package, "LATER_PART_CONFIDENCE"),
           "meaning_similarity": (vocabulary, "MEANING_SIMILARITY"),
           "synonym_similarity": (vocabulary, "SYNONYM_SIMILARITY"),
           "word_similarity": (vocabulary, "WORD_SIMILARITY")}
# The questions each number can change, by the forms they are read as.
FORMS = {"runner_up": {"factoid"}, "also": {"list"}, "lead_bonus": {"overview"}, "headline_bonus": {"overview"},
         "redundancy": {"overview"}, "repeat": {"overview"}, "side_confidence": {"comparison"},
         "central_weight": {"comparison"}, "later_part_confidence": {"multipart"}}
BONUSES = {"lead_bonus", "headline_bonus", "redundancy", "central_weight"}
ARTICLE_SETS = ("article_dev", "article_natural_dev")


@dataclass
class Asked:
    question: str
    index: object
    right: Callable  # Answer -> bool
    history: tuple = ()
    forms: set = field(default_factory=set)  # "all" when any number may change it
    outcome: float = 0.0


def values(name: str, v: float) -> list[float]:
    if name == "word_similarity":
        tries = [v - 10, v - 5, v + 5, v + 10]
        return [t for t in tries if 50 <= t <= 100]
    if name in BONUSES:
        return [round(v * f, 4) for f in (0, 0.5, 0.75, 1.5, 2)] if v else [0.25, 0.5, 1.0]
    return [round(v + d, 4) for d in (-0.15, -0.1, -0.05, 0.05, 0.1, 0.15) if 0.05 <= v + d <= 1.0]


def use(w: Weights, indexes) -> None:
    """Set `w`'s numbers where the answer step reads them; forget what they decided."""
    for name, (module, attr) in TARGETS.items():
        setattr(module, attr, getattr(w, name))
    for index in indexes:
        for cache in ("synonyms", "answers"):
            index.derived.pop(cache, None)


def ask_all(sets: dict[str, list[Asked]], only: set | None = None) -> dict[str, float]:
    for rows in sets.values():
        for a in rows:
            if only is None or "all" in a.forms or a.forms & only:
                a.outcome = float(a.right(rag.ask(a.question, a.index, history=list(a.history) or None)))
    return {name: sum(a.outcome for a in rows) / max(1, len(rows)) for name, rows in sets.items()}


def tag(sets: dict[str, list[Asked]]) -> None:
    for rows in sets.values():
        for a in rows:
            if a.history:
                a.forms = {"all"}
                continue
            pieces = split_parts(a.question, a.index)
            a.forms = {read_question(p, a.index).form for p in pieces} | ({"multipart"} if len(pieces) > 1 else set())


# --- the questions ----------------------------------------------------------


def article_sets() -> dict[str, list[Asked]]:
    index = rag.load_index(None)
    sets = {}
    for name in ARTICLE_SETS:
        rows = []
        for case in read_cases(ROOT / "tests" / "data" / f"{name}.jsonl"):
            def right(answer, case=case):
                if not case.answerable:
                    return answer.abstained
                text, evidence = normalise(answer.text), [normalise(e) for e in case.evidence]
                return (not answer.abstained and any(normalise(a) in text for a in case.answers)
                        and all(any(normalise(a) in text for a in part) for part in case.all_of)
                        and any(e in normalise(c.text) for c in answer.citations for e in evidence)
                        and len(answer.text) <= case.max_chars)
            rows.append(Asked(case.question, index, right, tuple(case.history)))
        sets[name] = rows
    return sets


def squad_sets(path: Path, n: int, tmp: Path, seed: int = 0) -> tuple[dict, dict]:
    indexes, asked, pairs = [], [], []
    for h, half in enumerate(halves(path)):
        by_paragraph = [[(q.strip(), answers) for q, answers in qas] for _, qas in half]
        questions = [qa for qas in by_paragraph for qa in qas]
        paired = [qas[:2] for qas in by_paragraph if len(qas) >= 2]
        docs = [doc for doc, _ in half]
        indexes.append(rag.build_index(docs, tmp / f"squad{h}"))
        rng = random.Random(seed)
        asked.append(rng.sample(questions, min(n, len(questions))))
        pairs.append(rng.sample(paired, min(n // 6, len(paired))))
    out = []
    for h, name in ((0, "squad_first_half"), (1, "squad_second_half")):
        sets = {name: [Asked(q, indexes[h], lambda a, g=g: first_right(a, lambda p: holds_answer(p.text, g)))
                       for q, g in asked[h]],
                f"{name}_elsewhere": [Asked(q, indexes[1 - h], lambda a: a.abstained) for q, _ in asked[h][: n // 2]],
                f"{name}_two_questions": [
                    Asked(f"{q1.rstrip('?')}, and {q2[:1].lower() + q2[1:]}", indexes[h],
                          lambda a, g1=g1, g2=g2: not a.abstained and holds_answer(a.text, g1) and holds_answer(a.text, g2))
                    for (q1, g1), (q2, g2) in pairs[h]]}
        out.append(sets)
    return out[0], out[1]


def polnear_sets(path: Path, split: str, articles_n: int, tmp: Path, seed: int = 0) -> dict[str, list[Asked]]:
    from rag.embedding import default_embedder

    articles, quotes, _ = load(path, split, articles_n)
    named = [q for q in quotes if q.via == "span"]
    rng = random.Random(seed)
    by_article: dict[str, list] = {}
    for q in named:
        by_article.setdefault(q.article, []).append(q)
    sets = {f"polnear_{split}_{k}": [] for k in ("said", "near_misses", "overview", "comparison")}
    embedder = default_embedder()
    for name, items in tqdm(by_article.items(), desc=f"PolNeAR {split} indexes", unit="article"):
        title, text = articles[name]
        index = rag.build_index([rag.Document(id=name, text=text, title=title)], tmp / f"{split}-{name}",
                                embedder=embedder)
        people: list[str] = []
        for q in items:
            if all(not same_speaker(q.gold, p) for p in people):
                people.append(q.gold)

        spans = {p: [s for q in items if same_speaker(q.gold, p) for s in q.content] for p in people}
        q = rng.choice([q for q in items if q.nouns] or [None])
        if q:
            topic = topic_of(q.nouns)
            sets[f"polnear_{split}_said"].append(Asked(
                f"What did {q.gold} say about {topic}?", index,
                lambda a, q=q, text=text: first_right(a, lambda s: inside(s, q.content), quoted_spans(a, text))))
            other = rng.choice([o for o in named if o.article != name and o.nouns])
            words = [w for w in other.nouns if w not in text.lower()]
            if words:
                sets[f"polnear_{split}_near_misses"].append(Asked(
                    f"What did {q.gold} say about {' and '.join(words[:2])}?", index, lambda a: a.abstained))
        twice = [p for p in people if sum(same_speaker(q.gold, p) for q in items) >= 2]
        if twice:
            x = rng.choice(twice)
            others = [s for p in people if p != x for s in spans[p]]
            sets[f"polnear_{split}_overview"].append(Asked(
                f"Sum up {x}'s position.", index,
                lambda a, own=spans[x], others=others, text=text: not a.abstained
                and any(inside(s, own) for s in quoted_spans(a, text))
                and not any(inside(s, others) for s in quoted_spans(a, text))))
        if len(people) >= 2:
            x, y = rng.sample(people, 2)
            third = [s for p in people if p not in (x, y) for s in spans[p]]
            sets[f"polnear_{split}_comparison"].append(Asked(
                f"How did {x}'s view differ from {y}'s?", index,
                lambda a, xs=spans[x], ys=spans[y], third=third, text=text: not a.abstained
                and any(inside(s, xs) for s in quoted_spans(a, text))
                and any(inside(s, ys) for s in quoted_spans(a, text))
                and not any(inside(s, third) for s in quoted_spans(a, text))))
    return sets


def first_right(answer, right: Callable, pieces=None) -> float:
    """1 when the answer's first quoted sentence is right, ½ when only a later one is."""
    pieces = answer.parts if pieces is None else pieces
    found = [bool(right(p)) for p in pieces] if not answer.abstained else []
    return 1.0 if found[:1] == [True] else 0.5 if any(found) else 0.0


def inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a < span[1] and span[0] < b for a, b in spans)


# --- the fit ----------------------------------------------------------------


def fit(train: dict[str, list[Asked]], start: Weights, indexes, names: tuple[str, ...],
        rounds: int = 2) -> tuple[Weights, list]:
    use(start, indexes)
    scores = ask_all(train)
    floor = sum(scores[n] * len(train[n]) for n in ARTICLE_SETS)
    best, current, log = start, _mean(scores), []
    for _ in range(rounds):
        moved = False
        for name in names:
            only = FORMS.get(name)
            for v in values(name, getattr(best, name)):
                trial = replace(best, **{name: v})
                use(trial, indexes)
                tried = ask_all(train, only)
                kept = sum(tried[n] * len(train[n]) for n in ARTICLE_SETS) >= floor and _mean(tried) > current + 1e-9
                log.append({"name": name, "value": v, "mean": round(_mean(tried), 4), "kept": kept})
                print(f"  {name} = {v}: mean {_mean(tried):.4f} (best {current:.4f}){' kept' if kept else ''}")
                if kept:
                    best, current, moved = trial, _mean(tried), True
            use(best, indexes)
            ask_all(train, only)  # outcomes as the kept value gives them
        if not moved:
            break
    return best, log


def _mean(scores: dict[str, float]) -> float:
    return sum(scores.values()) / len(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_training_data(parser)
    parser.add_argument("--articles", type=int, default=150, help="PolNeAR articles per split (dev has 84)")
    parser.add_argument("--squad-questions", type=int, default=600, help="SQuAD questions per half")
    parser.add_argument("--only", nargs="+", choices=SELECTION + MATCHING, metavar="NAME",
                        help="fit these numbers alone, the others staying as installed")
    parser.add_argument("--write", action="store_true", help="write SELECTION and MATCHING to rag/data/weights.json")
    args = parser.parse_args()

    names = tuple(args.only or SELECTION + MATCHING)
    # The hand-set values of the numbers fitted; with --only, the others as installed.
    start = replace(fitted(), **{n: getattr(Weights(), n) for n in names}) if args.only else Weights()
    with tempfile.TemporaryDirectory() as tmp:
        train, held_out = article_sets(), {}
        squad_train, squad_held = squad_sets(args.squad, args.squad_questions, Path(tmp))
        train.update(squad_train)
        held_out.update(squad_held)
        train.update(polnear_sets(args.polnear, "train", args.articles, Path(tmp)))
        held_out.update(polnear_sets(args.polnear, "dev", args.articles, Path(tmp)))
        every = {**train, **held_out}
        indexes = {id(a.index): a.index for rows in every.values() for a in rows}.values()
        use(start, indexes)
        tag(every)
        print({k: len(v) for k, v in every.items()})
        weights, log = fit(train, start, indexes, names)
        use(start, indexes)
        train_before, before = ask_all(train), ask_all(held_out)
        use(weights, indexes)
        train_after, after = ask_all(train), ask_all(held_out)
    adopted = all(after[n] >= before[n] for n in before)
    shown = {n: getattr(weights, n) for n in SELECTION + MATCHING}
    result = {"command": " ".join([".venv/bin/python", "bench/selection.py", *sys.argv[1:]]), "machine": machine(),
              "questions": {k: len(v) for k, v in every.items()},
              "start": {n: getattr(start, n) for n in shown}, "fitted": shown, "adopted": adopted,
              "train_before": _rounded(train_before), "train_after": _rounded(train_after),
              "held_out_before": _rounded(before), "held_out_after": _rounded(after), "tries": log}
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine", "tries")}, indent=1))
    print(f"wrote {write_result('selection' + ''.join('-' + n for n in args.only or ()), result)}")
    if args.write:
        command = result["command"]
        if args.only:  # the whole fit's command stays on record, this one after it
            saved = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8")).get("fitted_by", {}).get("selection", "")
            command = f"{saved.split(', then ')[0]}, then {command}" if saved else command
        write(weights if adopted else start, SELECTION + MATCHING, group="selection", fitted_by=command, adopted=adopted)
        print("wrote rag/data/weights.json")


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in scores.items()}


if __name__ == "__main__":
    main()
