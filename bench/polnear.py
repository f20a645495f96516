"""PolNeAR: who says each quotation, and "what did X say about Y?" over real news.

Data: PolNeAR v1.0.0 (github.com/networkdynamics/PolNeAR; Newell, Margolin &
Ruths, LREC 2018): 1,008 US political news articles of 2015-16 (train 840, dev
84, test 84) in which every attribution's source, cue and content is annotated
(BRAT standoff, data/SPLIT/attributions/NAME_ANNOTATOR.ann, character offsets
into data/SPLIT/text/NAME.txt), with CoreNLP output (tokens, POS, 4-class NER,
dcoref) in data/SPLIT/corenlp. The repository states no licence for the data
(its Python reader is MIT) and the texts are the publishers': none of it is
committed here. An article annotated by several annotators is read from the
first annotator id in sorted order; one without its CoreNLP file or that
annotation is left out (1 dev and 4 train articles in the mirror used).

A DIRECT quotation is an attribution at least half of whose content characters
(non-space) lie inside quotation marks (“…” or "…"; a quote left open at a
paragraph end continues only if the next paragraph opens with a mark).

Its source is NAMED when the source span holds a name: a run of tokens that are
proper nouns (NNP/NNPS) or PERSON/ORGANIZATION in CoreNLP's NER, none of them
LOCATION/MISC/DATE…, not reduced to a title ("Mr."), and not a modifier
(followed by a possessive, common noun or adjective: "Trump's aide", "a Clinton
spokesman", "the Clinton campaign" are not named); the gold name is the first
run with a PERSON token, else the first run. A source that is just "he" or
"she" is resolved through CoreNLP's coreference to the first PERSON name of its
chain's representative mention (dcoref is automatic: this gold is noisier, and
reported apart). Other sources ("the senator", "officials", "it") are left out.

SAME SPEAKER: both names reduced to words (diacritics, case, possessive 's,
punctuation, initials, titles such as Mr./Sen./Gov. and Jr. removed, "the"
dropped); the shorter's words must all be among the longer's ("Clinton" =
"Hillary Clinton" = "Hillary Rodham Clinton" ≠ "Bill Clinton"; "Post" = "The
New York Post").

(a) speaker accuracy: our speaker (`rag.chunking.chunk`, exactly what
`build_index` stores) of the sentence holding the content's first character,
against the gold name: right, wrong, none given.
(b) "What did X say about Y?" for a sample of the quotations named in their
source span (not through coreference, whose gold is noisier): X the gold name,
Y up to three nouns of the quotation (CoreNLP NN/NNS of 4+ letters, in order,
not "people", "thing" …); one index per article with the real
embedder; right when the answer does not abstain and a quoted sentence
(located by its text inside the cited passage) overlaps the content span.
(c) the same questions with X a person the article never mentions: must abstain.

Usage: .venv/bin/python bench/polnear.py PATH [--split dev] [--questions 100] [--limit N]
PATH is a checkout or export of the repository, e.g.
    git --git-dir=MIRROR archive HEAD | tar -x -C /tmp/polnear
(a mirror that lacks some blobs stops `archive`: export the rest file by file
with `git show HEAD:PATH`).
Writes bench/results/polnear-SPLIT.json: the command, counts and figures, and
the examples and questions by names only (no article text).
"""

import argparse
import csv
import random
import re
import sys
import tempfile
import time
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from bench.common import machine, write_result  # noqa: E402
from rag.chunking import chunk  # noqa: E402

TITLES = set("mr mrs ms miss dr sen senator rep gov gen lt col sgt prof rev president jr sr ii iii the".split())
STRANGERS = ["Margaret Okonkwo", "Daniel Whitacre", "Priya Raghunathan", "Thomas Vandermeer",
             "Helen Castellanos", "Martin Kowalczyk", "Ingrid Solberg", "Samuel Achterberg"]
NOUN_STOP = set("thing things way lot people time year years something anything nothing everything".split())


@dataclass
class Quote:
    article: str
    content: list[tuple[int, int]]  # character spans, document order
    gold: str  # the gold source's name
    via: str  # "span": named in the source span; "coref": resolved through coreference
    source: str  # the source span's text
    nouns: list[str]


def quoted_mask(text: str) -> bytearray:
    """1 for every character inside quotation marks (marks included)."""
    mask, inside = bytearray(len(text)), False
    for i, ch in enumerate(text):
        if ch == "“" or (ch == '"' and not inside):
            inside, mask[i] = True, 1
        elif ch == "”" or (ch == '"' and inside):
            inside, mask[i] = False, 1
        elif ch == "\n" and inside and text[i + 1:i + 2] == "\n" and text[i + 2:i + 3] not in "“\"":
            inside = False
        else:
            mask[i] = inside
    return mask


def read_ann(path: Path) -> list[dict]:
    """{role: [(start, end), …]} for every attribution (event) of a BRAT file."""
    text = path.read_text(encoding="utf-8")  # a span's text may hold a line break: match ids, not lines
    spans = {t: sorted(tuple(map(int, s.split())) for s in offsets.split(";"))
             for t, offsets in re.findall(r"^(T\d+)\t\S+ ([\d ;]+)\t", text, re.M)}
    return [{r: spans[t] for r, t in re.findall(r"(\w+):(T\d+)", args) if r in ("Source", "Content")}
            for args in re.findall(r"^E\d+\t(.*)$", text, re.M)]


def read_corenlp(path: Path):
    """Tokens as (start, end, word, POS, NER) per sentence, and coref chains as
    lists of (sentence, start, end, head, representative) with 0-based token indexes."""
    doc = ET.parse(path).getroot().find("document")
    sents = [[(int(t.findtext("CharacterOffsetBegin")), int(t.findtext("CharacterOffsetEnd")), t.findtext("word"),
               t.findtext("POS"), t.findtext("NER")) for t in s.find("tokens")] for s in doc.find("sentences")]
    chains = [[(int(m.findtext("sentence")) - 1, int(m.findtext("start")) - 1, int(m.findtext("end")) - 1,
                int(m.findtext("head")) - 1, m.get("representative") == "true") for m in c.iter("mention")]
              for c in doc.iterfind("coreference/coreference")]
    return sents, chains


def head_name(tokens, person_only: bool = False) -> str | None:
    """The gold name in a span's tokens (see the module docstring), or None."""
    runs, i = [], 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and (tokens[j][3] in ("NNP", "NNPS") or tokens[j][4] in ("PERSON", "ORGANIZATION")):
            j += 1
        run, ner = tokens[i:j], {t[4] for t in tokens[i:j]}
        modifier = j < len(tokens) and tokens[j][3] in ("POS", "NN", "NNS", "JJ")
        if run and not modifier and ner <= {"PERSON", "ORGANIZATION", "O"} and name_words(" ".join(t[2] for t in run)):
            runs.append((0 if "PERSON" in ner else 1 if "ORGANIZATION" in ner else 2, " ".join(t[2] for t in run)))
        i = j + 1
    runs = [r for r in runs if r[0] == 0] if person_only else runs
    return min(runs, key=lambda r: r[0])[1] if runs else None


def gold_source(spans, sents, chains) -> tuple[str | None, str]:
    """The source's name and how it was found: "span", or "coref" for a he/she
    source resolved to a PERSON through CoreNLP's coreference chain."""
    source = [t for s in sents for t in s if any(a <= t[0] and t[1] <= b for a, b in spans)]
    name = head_name(source)
    if name or [t[2].lower() for t in source] not in (["he"], ["she"]):
        return name, "span"
    for chain in chains:
        if any(sents[s][h] is source[0] for s, _, _, h, _ in chain):
            rep = next((m for m in chain if m[4]), chain[0])
            name = head_name(sents[rep[0]][rep[1]:rep[2]], person_only=True)
            return name, "coref"
    return None, ""


def name_words(name: str) -> list[str]:
    name = unicodedata.normalize("NFKD", name.replace("’", "'"))
    name = "".join(ch for ch in name if not unicodedata.combining(ch)).casefold()
    words = [re.sub(r"'s?$", "", w).strip(".,'\"") for w in name.split()]
    return [w for w in words if len(w) > 1 and w not in TITLES]


def same_speaker(ours: str | None, gold: str) -> bool:
    a, b = set(name_words(ours or "")), set(name_words(gold))
    return bool(a and b) and (a <= b or b <= a)


def load(root: Path, split: str, limit: int | None):
    """(articles {name: (title, text)}, direct quotations with named sources, counts)."""
    metadata = (root / "data/metadata.tsv").read_text(encoding="utf-8").splitlines()
    rows = [r for r in csv.DictReader(metadata, delimiter="\t") if r["compartment"] == split][:limit]
    articles, quotes, counts = {}, [], {"articles": 0, "no_corenlp": 0, "attributions": 0, "direct": 0}
    for row in tqdm(rows, desc=f"reading {split}", unit="article"):
        name, base = row["filename"], root / "data" / split
        annotator = sorted(row["annotators"].split("|"))[0]
        if not (base / "corenlp" / f"{name}.txt.xml").exists() or not (base / "attributions" / f"{name}_{annotator}.ann").exists():
            counts["no_corenlp"] += 1
            continue
        text = (base / "text" / f"{name}.txt").read_text(encoding="utf-8")
        articles[name] = (row["title"], text)
        counts["articles"] += 1
        sents, chains = read_corenlp(base / "corenlp" / f"{name}.txt.xml")
        mask = quoted_mask(text)
        for event in read_ann(base / "attributions" / f"{name}_{annotator}.ann"):
            counts["attributions"] += 1
            chars = [i for a, b in event.get("Content", []) for i in range(a, b) if not text[i].isspace()]
            if not chars or sum(mask[i] for i in chars) * 2 < len(chars):
                continue
            counts["direct"] += 1
            if "Source" not in event:
                continue
            gold, via = gold_source(event["Source"], sents, chains)
            if gold:
                content = [t for s in sents for t in s if any(a <= t[0] < b for a, b in event["Content"])]
                nouns = [t[2].lower() for t in content if t[3] in ("NN", "NNS") and len(t[2]) > 3]
                nouns = list(dict.fromkeys(n for n in nouns if n not in NOUN_STOP))[:3]
                source = " ".join(text[a:b] for a, b in event["Source"])
                quotes.append(Quote(name, event["Content"], gold, via, source, nouns))
    counts["named"] = len(quotes)
    return articles, quotes, counts


def speaker_at(passages, offset: int) -> str | None:
    """Our speaker of the sentence holding `offset` (or the next sentence)."""
    for p in passages:
        for s, e in p.sentences:
            if offset < e:
                return p.speaker
    return None


def part_a(articles, quotes, examples: int):
    start, passages = time.perf_counter(), {n: chunk(n, text).passages for n, (_, text) in articles.items()}
    seconds = time.perf_counter() - start
    words = sum(len(text.split()) for _, text in articles.values())
    tally = {"right": 0, "wrong": 0, "none": 0}
    by_via = {"span": dict(tally), "coref": dict(tally)}
    wrong, missed = [], []
    for q in quotes:
        text, (start, end) = articles[q.article][1], q.content[0]
        offset = end - len(text[start:end].lstrip())  # the content's first character
        ours = speaker_at(passages[q.article], offset)
        outcome = "none" if ours is None else "right" if same_speaker(ours, q.gold) else "wrong"
        tally[outcome] += 1
        by_via[q.via][outcome] += 1
        line = text[offset:offset + 90].replace("\n", " ")
        if outcome == "wrong":
            wrong.append({"ours": ours, "gold": q.gold, "source": q.source, "via": q.via, "text": line})
        elif outcome == "none":
            missed.append({"gold": q.gold, "source": q.source, "via": q.via, "text": line})
    return {**tally, "total": len(quotes), "accuracy": round(tally["right"] / max(1, len(quotes)), 3),
            "by_source": by_via, "chunk_seconds": round(seconds, 2), "words": words,
            "ms_per_1000_words": round(seconds * 1e6 / max(1, words), 1),
            "wrong_examples": wrong[:examples], "none_examples": missed[:examples]}


def quoted_spans(answer, text: str):
    """(start, end) in the document of each sentence the answer quotes: the
    longest piece of its quote (between cut marks "…") found in the cited
    passage, else the whole passage."""
    out = []
    for part in answer.parts:
        passage = answer.citations[part.citation - 1]
        frag = max(part.text.split("…"), key=len).strip()
        at = text.find(frag, passage.start, passage.end + 1) if frag else -1
        out.append((at, at + len(frag)) if at >= 0 else (passage.start, passage.end))
    return out


def topic_of(nouns: list[str]) -> str:
    """The words a question asks about: "taxes, pipelines and jobs"."""
    return ", ".join(nouns[:-1]) + (" and " if len(nouns) > 1 else "") + nouns[-1]


def parts_bc(articles, quotes, n: int, seed: int):
    from rag.embedding import default_embedder

    pool = [q for q in quotes if q.via == "span" and q.nouns]  # gold names as the text gives them
    sample = random.Random(seed).sample(pool, min(n, len(pool)))
    embedder, rows = default_embedder(), []
    by_article = {}
    for i, q in enumerate(sample):
        by_article.setdefault(q.article, []).append((i, q))
    with tempfile.TemporaryDirectory() as tmp:
        for name, items in tqdm(by_article.items(), desc="asking", unit="article"):
            title, text = articles[name]
            doc = rag.Document(id=name, text=text, title=title)
            index = rag.build_index([doc], Path(tmp) / name, embedder=embedder)
            lower = text.lower()
            for i, q in items:
                topic = topic_of(q.nouns)
                stranger = next((s for s in STRANGERS[i % len(STRANGERS):] + STRANGERS
                                 if s.split()[-1].lower() not in lower and s.split()[0].lower() not in lower))
                real = rag.ask(f"What did {q.gold} say about {topic}?", index)
                fake = rag.ask(f"What did {stranger} say about {topic}?", index)
                hits = [any(a < e and s < b for a, b in q.content) for s, e in quoted_spans(real, text)]
                rows.append({"article": name, "question": real.question, "abstained": real.abstained,
                             "right": any(hits), "first_right": bool(hits and hits[0]),
                             "stranger_question": fake.question, "stranger_refused": fake.abstained})
    k = max(1, len(rows))
    return {"questions": len(rows), "right": sum(r["right"] for r in rows),
            "first_right": sum(r["first_right"] for r in rows), "abstained": sum(r["abstained"] for r in rows),
            "accuracy": round(sum(r["right"] for r in rows) / k, 3),
            "stranger_refused": sum(r["stranger_refused"] for r in rows),
            "refusal_rate": round(sum(r["stranger_refused"] for r in rows) / k, 3), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="a checkout or export of github.com/networkdynamics/PolNeAR")
    parser.add_argument("--split", choices=["train", "dev", "test"], default="dev")
    parser.add_argument("--limit", type=int, help="only the first N articles of the split")
    parser.add_argument("--questions", type=int, default=100, help="questions sampled for (b) and (c); 0 skips them")
    parser.add_argument("--examples", type=int, default=20, help="wrong and unattributed examples printed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (args.path / "data/metadata.tsv").exists():
        parser.error(f"{args.path}/data/metadata.tsv not found: give a PolNeAR checkout or export")

    articles, quotes, counts = load(args.path, args.split, args.limit)
    a = part_a(articles, quotes, args.examples)
    print(f"\n(a) speakers of {a['total']} direct quotations with a named source "
          f"({counts['direct']} direct of {counts['attributions']} attributions, {counts['articles']} articles)")
    print(f"{'':8}{'right':>7}{'wrong':>7}{'none':>7}{'total':>7}{'acc':>7}")
    for label, t in [("all", a), *a["by_source"].items()]:
        total = t["right"] + t["wrong"] + t["none"]
        print(f"{label:8}{t['right']:>7}{t['wrong']:>7}{t['none']:>7}{total:>7}{t['right'] / max(1, total):>7.3f}")
    print(f"speaker step: {a['ms_per_1000_words']} ms per 1,000 words ({a['words']:,} words, {a['chunk_seconds']} s)")
    for title, rows in [("wrong (ours | gold | how found, source span | content)", a["wrong_examples"]),
                        ("none given (gold | how found, source span | content)", a["none_examples"])]:
        print(f"\n{title}:")
        for r in rows:
            ours = r.get("ours", "")
            print(f"  {ours!s:22.22} | {r['gold']:22.22} | {r['via']:5} {r['source']:24.24} | {r['text'][:64]}")
    result = {"command": " ".join([".venv/bin/python", "bench/polnear.py", *sys.argv[1:]]), "split": args.split,
              "machine": machine(), "data": counts, "speakers": a}
    if args.questions:
        start = time.perf_counter()
        bc = parts_bc(articles, quotes, args.questions, args.seed)
        bc["seconds"] = round(time.perf_counter() - start, 1)
        n = max(1, bc["questions"])
        print(f"\n(b) what did X say about Y: {bc['right']} / {bc['questions']} right ({bc['right'] / n:.3f}; "
              f"first quote right {bc['first_right']}), {bc['abstained']} abstained")
        print(f"(c) X never mentioned: {bc['stranger_refused']} / {bc['questions']} refused ({bc['refusal_rate']:.3f})"
              f"   [{bc['seconds']} s]")
        result["questions"] = bc
    for row in a["wrong_examples"] + a["none_examples"]:
        del row["text"]  # no article text in the file (the data has no licence)
    print(f"wrote {write_result(f'polnear-{args.split}', result)}")


if __name__ == "__main__":
    main()
