"""Fit the answer step's weights (rag/weights.py: EVIDENCE, TIE_BREAKERS and the bar) on training questions;
check them on held-out ones.

Training questions:
- the two article dev sets (tests/data): answerable ones, right when the best
  sentence holds a gold answer and its evidence; and the ones to refuse;
- "What did X say about Y?" for `--questions` sampled named direct quotations
  of PolNeAR train, built as `bench/polnear.py` (b) builds them: right when the
  best sentence overlaps the annotated content;
- near misses, to refuse: the same X asked about the topic of a quotation from
  another article ("What did Cruz say about pipelines?" of an article where he
  speaks only of taxes), the case where an answerer quotes something that does
  not answer;
- SQuAD v1.1 dev, the first half of its articles (24 of 48; SQuAD's train
  split is not to be had offline here), open as `bench/squad.py` asks it: one
  index over their paragraphs, right when the quoted sentence holds a gold
  answer; and the same questions asked of the other half's index, to refuse.
Held-out: the same PolNeAR questions and near misses from dev, and the other
24 SQuAD articles both ways (the article sets are checked apart by `rag eval`, and the
whole SQuAD dev by `bench/squad.py`, whose figure is thus half in-sample).

How: every question is asked once through `rag.ask`, with a hook that keeps
the factoid scorer's candidates and their named `Features` (questions answered
by another form, or refused before scoring, keep none and count as they were
answered). Then, offline, a set of weights gets a question right when its
best-ranked candidate is right and at least as confident as the bar, and so is
any near tie that `factoid` would quote after it; a question to refuse, when
its best is below the bar. Coordinate ascent from the
current weights: each weight in turn tries a grid of values (its current value
times 0, ¼, ½, ¾, 1¼, 1½, 2 or 3), with the bar set to its best value for each
try; a try is kept only if the mean of the sets' accuracies rises (or, equal,
the mean share of answers that quote no wrong sentence) and neither article
set loses a question (they are the product's acceptance test). Rounds until
none does. Similarity is the unit (fixed at 1).

The fitted weights are adopted only if no held-out set loses by them; else the
start values stay, and the result says so.

Usage: .venv/bin/python bench/weights.py POLNEAR_PATH [--questions 300] [--write] [--rows FILE.npz]
Writes bench/results/weights.json (the fit, and accuracies before and after on
each set); with --write also rag/data/weights.json, which the answerer reads.
"""

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
import rag.answer.factoid as factoid  # noqa: E402
from bench.common import add_training_data, machine, write_result  # noqa: E402
from bench.polnear import load, topic_of  # noqa: E402
from rag.answer.factoid import RUNNER_UP  # noqa: E402
from rag.weights import EVIDENCE, TIE_BREAKERS, WEIGHTS_FILE, Weights, write  # noqa: E402
from rag.evaluation import normalise, read_cases  # noqa: E402

GRID = (0.0, 0.25, 0.5, 0.75, 1.25, 1.5, 2.0, 3.0)
NAMES = EVIDENCE + TIE_BREAKERS


class Recorder:
    """Keeps the candidates of the factoid scorer's first call per question."""

    def __init__(self):
        self.found = None
        self._score = factoid.score_sentences

    def __call__(self, *args, **kwargs):
        candidates = self._score(*args, **kwargs)
        if self.found is None:
            self.found = candidates
        return candidates

    def ask(self, question, index, history=()):
        self.found = None
        answer = rag.ask(question, index, history=list(history) or None)
        return answer, self.found


def record(question, index, right, recorder, history=()):
    """One question as the optimiser sees it: its candidates' features and which are right."""
    answer, found = recorder.ask(question, index, history)
    if not found:  # another form answered it, or it was refused before scoring: as it was answered
        return {"fixed": True, "right": right(None, answer) if right else answer.abstained}
    order = sorted(range(len(found)), key=lambda k: (found[k].row, found[k].span))
    found = [found[k] for k in order]
    return {"fixed": False, "answerable": right is not None,
            "features": np.array([[getattr(c.features, n) for n in NAMES] for c in found]),
            "right": np.array([bool(right(c, None)) for c in found]) if right else np.zeros(len(found), bool)}


def article_rows(recorder) -> dict[str, list]:
    index = rag.load_index(None)
    sets = {}
    for name in ("article_dev", "article_natural_dev"):
        rows = []
        for case in read_cases(ROOT / "tests" / "data" / f"{name}.jsonl"):
            evidence = [normalise(e) for e in case.evidence]
            answers = [normalise(a) for a in case.answers]

            def right(c, answer, evidence=evidence, answers=answers, case=case):
                if c is None:  # answered by another form: as `rag eval` judges the answer
                    if not case.answerable:
                        return answer.abstained
                    text = normalise(answer.text)
                    return not answer.abstained and any(a in text for a in answers) and any(
                        e in normalise(p.text) for p in answer.citations for e in evidence)
                text = normalise(c.text)
                return any(e in text or text in e for e in evidence) and any(a in text for a in answers)

            rows.append(record(case.question, index, right if case.answerable else None, recorder, case.history))
        sets[name] = rows
    return sets


def polnear_rows(path: Path, split: str, n: int, recorder, seed: int = 0) -> tuple[list, list]:
    """The questions about real quotations, and the near misses."""
    from rag.embedding import default_embedder

    articles, quotes, _ = load(path, split, None)
    pool = [q for q in quotes if q.via == "span" and q.nouns]
    rng = random.Random(seed)
    sample = rng.sample(pool, min(n, len(pool)))
    elsewhere = {id(q): rng.choice([o for o in pool if o.article != q.article]) for q in sample}
    embedder, rows, misses, by_article = default_embedder(), [], [], {}
    for q in sample:
        by_article.setdefault(q.article, []).append(q)
    with tempfile.TemporaryDirectory() as tmp:
        for name, items in tqdm(by_article.items(), desc=f"asking ({split})", unit="article"):
            title, text = articles[name]
            index = rag.build_index([rag.Document(id=name, text=text, title=title)], Path(tmp) / name,
                                    embedder=embedder)
            for q in items:
                topic = topic_of(q.nouns)
                other = [w for w in elsewhere[id(q)].nouns if w not in text.lower()]
                if other:
                    misses.append(record(f"What did {q.gold} say about {topic_of(other)}?", index, None, recorder))

                def right(c, answer, q=q):
                    if c is None:
                        return not answer.abstained and any(
                            a < p.end and p.start < b for p in answer.citations for a, b in q.content)
                    return any(a < c.span[1] and c.span[0] < b for a, b in q.content)

                rows.append(record(f"What did {q.gold} say about {topic}?", index, right, recorder))
    return rows, misses


def squad_sets(path: Path, n: int, recorder, seed: int = 0) -> tuple[list, list, list, list]:
    """SQuAD dev split by article into halves, one open index each: `n` questions of
    each half asked of its own index (answer), and of the other half's (refuse:
    questions on other topics, which share only common words with it)."""
    from bench.squad import halves, holds_answer

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        indexes, asked = [], []
        for h, half in enumerate(halves(path)):
            docs, questions = [doc for doc, _ in half], [qa for _, qas in half for qa in qas]
            indexes.append(rag.build_index(docs, Path(tmp) / f"half{h}"))
            asked.append(random.Random(seed).sample(questions, min(n, len(questions))))
        for h in (0, 1):
            rows, misses = [], []
            for question, answers in tqdm(asked[h], desc=f"asking (SQuAD half {h})", unit="question"):
                def right(c, answer, answers=answers):
                    if c is None:
                        return not answer.abstained and holds_answer(answer.text, answers)
                    return holds_answer(c.text, answers)

                rows.append(record(question, indexes[h], right, recorder))
                misses.append(record(question, indexes[1 - h], None, recorder))
            out += [rows, misses]
    return tuple(out)


def outcomes(rows: list, w: np.ndarray) -> list[tuple]:
    """What each question's answer is under weights `w`, as a function of the bar:
    ("fixed", right) for questions the fit does not touch; ("refuse", best confidence);
    ("answer", best confidence, best right, near ties [(confidence, right)] in the
    order `factoid` considers them)."""
    out = []
    kind = [NAMES.index(n) for n in ("kind_missing", "kind_missing_strict", "echo")]
    for row in rows:
        if row["fixed"]:
            out.append(("fixed", bool(row["right"])))
            continue
        f = row["features"]
        confidence = f[:, :len(EVIDENCE)] @ w[:len(EVIDENCE)]
        rank = confidence + f[:, len(EVIDENCE):] @ w[len(EVIDENCE):]
        order = np.argsort(-rank, kind="stable")  # equals stay in row order, as `ranked` keeps them
        best = int(order[0])
        if not row["answerable"]:
            out.append(("refuse", float(confidence[best])))
            continue
        fits = f[:, kind].sum(axis=1) == 0
        ties = [(float(confidence[k]), bool(row["right"][k])) for k in order[1:3]
                if rank[k] >= RUNNER_UP * rank[best] and fits[k]]
        out.append(("answer", float(confidence[best]), bool(row["right"][best]), ties))
    return out


def accuracy_at(found: list[tuple], bar: float) -> tuple[float, float]:
    """At `bar`: the share answered right as `rag eval` and `bench/polnear.py` count
    it (a quoted sentence holds the answer: the best, or the near tie `factoid`
    quotes after it, the first confident one), and the share where every quoted
    sentence does."""
    right = clean = 0
    for o in found:
        if o[0] == "fixed":
            right += o[1]
            clean += o[1]
        elif o[0] == "refuse":
            right += o[1] < bar
            clean += o[1] < bar
        elif o[1] >= bar:
            second = next((r for c, r in o[3] if c >= bar), None)
            right += o[2] or bool(second)
            clean += o[2] and second is not False
    n = max(1, len(found))
    return right / n, clean / n


def accuracy(rows: list, w: np.ndarray, bar: float) -> float:
    return accuracy_at(outcomes(rows, w), bar)[0]


def best_bar(sets: dict[str, list], w: np.ndarray, current: float,
             floors: dict[str, float] | None = None) -> tuple[tuple, float]:
    """The bar that scores best on a 0.01 grid: the mean share right first, then
    the mean share with no wrong sentence quoted, then nearest the current bar;
    a bar that takes a set in `floors` below its floor is not a choice."""
    found = {name: outcomes(rows, w) for name, rows in sets.items()}
    options = sorted({round(b, 2) for b in np.arange(0.3, 1.5, 0.01)} | {round(current, 2)})
    scored = [(-1.0, -1.0, 0.0, current)]
    for b in options:
        shares = {name: accuracy_at(f, b) for name, f in found.items()}
        if any(shares[name][0] < floor for name, floor in (floors or {}).items()):
            continue
        scored.append((round(float(np.mean([s[0] for s in shares.values()])), 9),
                       round(float(np.mean([s[1] for s in shares.values()])), 9), -abs(b - current), b))
    *value, _, bar = max(scored)
    return tuple(value), bar


def fit(sets: dict[str, list], start: Weights) -> tuple[Weights, float]:
    """Coordinate ascent (see the module docstring). The article sets are the
    product's acceptance test: no step may lose one of their questions."""
    w = np.array([getattr(start, n) for n in NAMES], dtype=float)
    floors = {name: accuracy(sets[name], w, start.min_confidence) for name in ("article_dev", "article_natural_dev")}
    value, bar = best_bar(sets, w, start.min_confidence, floors)
    improved = True
    while improved:
        improved = False
        for k, name in enumerate(NAMES):
            if name == "similarity":
                continue
            base = w[k] if w[k] else (0.1 if name in TIE_BREAKERS else 0.5) * (-1 if name in ("kind_missing",
                                                                                              "kind_missing_strict",
                                                                                              "echo") else 1)
            for factor in GRID:
                trial = w.copy()
                trial[k] = round(base * factor, 4)
                v, b = best_bar(sets, trial, bar, floors)
                if v > value:
                    w, value, bar, improved = trial, v, b, True
    return Weights(**dict(zip(NAMES, w.tolist())), min_confidence=bar), value


def report(sets: dict[str, list], weights: Weights) -> dict[str, float]:
    w = np.array([getattr(weights, n) for n in NAMES])
    return {name: round(accuracy(rows, w, weights.min_confidence), 3) for name, rows in sets.items()}


def _write_rows(path: Path, train: dict, held_out: dict) -> None:
    arrays, meta = {}, {}
    for part, sets in (("train", train), ("held_out", held_out)):
        for name, rows in sets.items():
            meta[f"{part}/{name}"] = [{"fixed": r["fixed"], "answerable": r.get("answerable"),
                                       "right": bool(r["right"]) if r["fixed"] else None} for r in rows]
            for k, r in enumerate(rows):
                if not r["fixed"]:
                    arrays[f"{part}/{name}/{k}/features"] = r["features"]
                    arrays[f"{part}/{name}/{k}/right"] = r["right"]
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)


def _read_rows(path: Path) -> tuple[dict, dict]:
    data = np.load(path)
    out = {"train": {}, "held_out": {}}
    for key, rows in json.loads(str(data["meta"])).items():
        part, name = key.split("/", 1)
        out[part][name] = [r if r["fixed"] else {**r, "features": data[f"{key}/{k}/features"],
                                                   "right": data[f"{key}/{k}/right"]} for k, r in enumerate(rows)]
    return out["train"], out["held_out"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_training_data(parser)
    parser.add_argument("--questions", type=int, default=300, help="PolNeAR questions per split")
    parser.add_argument("--squad-questions", type=int, default=1500, help="SQuAD questions per half")
    parser.add_argument("--write", action="store_true", help="write rag/data/weights.json")
    parser.add_argument("--rows", type=Path, help="keep the asked questions' features in this .npz file, "
                                                  "and read them from it when it exists (the fit alone, in seconds)")
    args = parser.parse_args()

    train, held_out = _read_rows(args.rows) if args.rows and args.rows.exists() else ({}, {})
    recorder = Recorder()
    factoid.score_sentences = recorder
    # Features do not depend on the weights; questions another form answers are
    # judged as the installed weights answer them. Sets already in --rows are not asked again.
    if "polnear_train" not in train:
        train["polnear_train"], train["polnear_train_near_misses"] = polnear_rows(
            args.polnear, "train", args.questions, recorder)
        held_out["polnear_dev"], held_out["polnear_dev_near_misses"] = polnear_rows(
            args.polnear, "dev", args.questions, recorder)
    if "article_dev" not in train:
        train.update(article_rows(recorder))
    if "squad_first_half_elsewhere" not in train:
        (train["squad_first_half"], train["squad_first_half_elsewhere"],
         held_out["squad_second_half"], held_out["squad_second_half_elsewhere"]) = squad_sets(
            args.squad, args.squad_questions, recorder)
    if args.rows:
        _write_rows(args.rows, train, held_out)
    start = Weights()  # the hand-set values the fit starts from
    weights, value = fit(train, start)
    before, after = report(held_out, start), report(held_out, weights)
    # Adopted only if no held-out set loses: otherwise the fit learnt the training sets, not the task.
    adopted = all(after[name] >= before[name] for name in before)
    shown = [a for k, a in enumerate(sys.argv[1:]) if a != "--rows" and (k == 0 or sys.argv[k] != "--rows")]
    result = {"command": " ".join([".venv/bin/python", "bench/weights.py", *shown]), "machine": machine(),
              "questions": {k: len(v) for k, v in {**train, **held_out}.items()},
              "scored": {k: sum(not r["fixed"] for r in v) for k, v in {**train, **held_out}.items()},
              "start": start.to_json(), "fitted": weights.to_json(), "adopted": adopted,
              "train_before": report(train, start), "train_after": report(train, weights),
              "held_out_before": before, "held_out_after": after}
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    print(f"wrote {write_result('weights', result)}")
    if args.write:
        chosen = weights if adopted else start
        write(chosen, NAMES + ("min_confidence",), group="features", fitted_by=result["command"], adopted=adopted)
        print(f"wrote {WEIGHTS_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
