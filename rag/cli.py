"""The `rag` command: index, ask, retrieve, eval.

Only this module (and app.py) turns `RagError`s into messages and exit codes:
0 success, 1 a problem with the input (the one-line message says which), 2 bad
usage, 130 interrupted. Heavy libraries (torch, sentence-transformers) are
imported only by commands that embed, so `rag --help` is instant.
"""

import argparse
import json
import logging
import os
import sys

from .errors import QuestionError, RagError

log = logging.getLogger("rag")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "store", None) and args.store[0] != "milvus":
        parser.error(f"--store: unknown store '{args.store[0]}' (the one there is: --store milvus URI)")
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        log.addHandler(_StderrHandler())
        log.setLevel(logging.INFO)
        log.propagate = False
    try:
        return args.run(args)
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `rag ask … | head -1`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as the Python docs advise
        return 0
    except OSError as exc:  # disk full, permission denied …
        print(f"rag: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130


class _StderrHandler(logging.Handler):
    """Notices as plain lines on whatever sys.stderr is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        print(record.getMessage(), file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Grounded, cited answers from your documents, offline.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="serve the chat page (as python app.py does)")
    from .page import server

    server.add_arguments(p)
    p.set_defaults(run=server.run)

    p = sub.add_parser("index", help="build or update an index from files and directories")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".txt, .md, .html or .pdf files, or directories of them")
    p.add_argument("--index", metavar="DIR", help="index directory (default: the default index)")
    p.add_argument("--int8", action="store_true",
                   help="embed with the int8 model: about 3.5 times as fast to build, slightly less precise")
    p.add_argument("--search", choices=("auto", "exact", "approximate"), default="auto",
                   help="vector search: exact, approximate (FAISS IVF), or auto: approximate from 250,000 passages")
    p.add_argument("--store", nargs=2, metavar=("milvus", "URI"),
                   help="search the passages in Milvus: a file path for Milvus Lite, or http://host:19530 "
                        "(needs pip install -e '.[milvus]'; MILVUS_TOKEN for a server that asks for one)")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="embed on a Ray cluster: a local one, or the one at ADDRESS (needs pip install -e '.[ray]')")
    p.set_defaults(run=_index)

    p = sub.add_parser("ask", help="answer a question with quoted, cited sentences")
    p.add_argument("question")
    p.add_argument("--index", metavar="DIR", help="index directory (default: the bundled article)")
    p.add_argument("--history", action="append", metavar="EARLIER",
                   help="an earlier question of the conversation, oldest first; repeat for more")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--explain", action="store_true",
                   help="also show how the question was read and its best sentences' scores, feature by feature")
    _generate_options(p)
    p.set_defaults(run=_ask)

    p = sub.add_parser("retrieve", help="list the passages that best match a question")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=5, metavar="N", help="how many passages (default 5)")
    p.add_argument("--index", metavar="DIR", help="index directory (default: the bundled article)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_retrieve)

    p = sub.add_parser("eval", help="score answers and retrieval on a JSON-lines question file")
    p.add_argument("file", metavar="FILE.jsonl")
    p.add_argument("--index", metavar="DIR", help="index directory (default: the bundled article)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _generate_options(p)
    p.set_defaults(run=_eval)
    return parser


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < 86_400:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"not a number of seconds above 0: {text!r}")
    return seconds


def _generate_options(p) -> None:
    p.add_argument("--generate", metavar="MODEL",
                   help="have a model write the answer, each sentence checked against its citation: a transformers "
                        "model directory, a .gguf file, or openai:URL#NAME (needs pip install -e '.[generate]')")
    p.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                   help="seconds the model may take per answer (default: RAG_GENERATE_TIMEOUT or 60)")


def _index(args) -> int:
    from . import config
    from .api import build_index

    target = args.index or config.default_index_dir()
    index = build_index(args.paths, target, progress=sys.stderr.isatty(), int8=args.int8, search=args.search,
                        milvus=args.store[1] if args.store else None, ray=args.ray)
    how = f", searched approximately ({index.probe} lists probed)" if index.approximate else ""
    if index.store:
        how = f", searched in Milvus at {index.store['uri']} (collection {index.store['collection']})"
    print(f"indexed {len(index.documents)} document(s), {len(index.passages)} passages into {target}{how}")
    return 0


def _ask(args) -> int:
    from .api import ask

    if args.explain:
        if args.generate:
            raise QuestionError("--explain shows the quoting answerer; leave out --generate")
        return _explain(args)
    writing = _Writing() if args.generate and not args.json and sys.stderr.isatty() else None
    try:
        answer = ask(args.question, args.index, history=args.history, generator=args.generate,
                     timeout=args.timeout, on_progress=writing)
    finally:
        if writing:
            writing.erase()
    if answer.note:
        print(f"rag: {answer.note}", file=sys.stderr)
    if args.json:
        _print_json(answer.to_json())
        return 0
    if answer.question != " ".join(args.question.split()):
        print(f"Understood as: {answer.question}\n")
    print(answer.text)
    if answer.generated:
        dropped = f"; {len(answer.dropped)} dropped, unsupported" if answer.dropped else ""
        print(f"\n(written by the model, {len(answer.sentences)} sentence(s) checked against their citations{dropped})")
    for n, passage in enumerate(answer.citations, 1):
        print()
        print(_describe(n, passage))
    return 0


def _explain(args) -> int:
    from .api import explain

    found = explain(args.question, args.index, history=args.history).to_json()
    if args.json:
        _print_json(found)
        return 0
    print(found["answer"]["answer"], "\n")
    print("Read as:")
    for key, value in found["read"].items():
        shown = ", ".join(value) if isinstance(value, list) else value
        print(f"  {key:14} {shown if shown not in ('', None) else '—'}")
    print(f"\nBest sentences (a factoid is answered when the first reaches confidence {found['min_confidence']:.3f}):")
    for n, s in enumerate(found["sentences"], 1):
        who = f" · {s['speaker']}" if s["speaker"] else ""
        print(f"{n}. confidence {s['confidence']:.3f}, rank {s['rank']:.3f}{who}\n   {s['text'][:160]}")
        print("   " + " · ".join(f"{k} {v:g}" for k, v in s["features"].items() if v))
    return 0


class _Writing:
    """One line on the terminal while the model writes: how far it is and how
    many of its sentences have passed or failed the check; erased when the
    answer is ready. The model's unchecked words are never shown."""

    def __init__(self):
        self.shown = False

    def __call__(self, progress) -> None:
        line = f"writing… {progress.words} words, {len(progress.kept)} sentence(s) checked"
        if progress.dropped:
            line += f", {len(progress.dropped)} dropped"
        sys.stderr.write(f"\r\x1b[2m{line}\x1b[0m\x1b[K")
        sys.stderr.flush()
        self.shown = True

    def erase(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _retrieve(args) -> int:
    from .api import retrieve

    passages = retrieve(args.question, k=args.k, index=args.index)
    if args.json:
        _print_json([p.to_json() for p in passages])
        return 0
    for n, passage in enumerate(passages, 1):
        print(_describe(n, passage))
        print()
    return 0


def _eval(args) -> int:
    from .evaluation import by_type, evaluate, read_cases

    report = evaluate(read_cases(args.file), args.index, generator=args.generate)
    if args.json:
        _print_json(report.to_json())
        return 0
    for o in report.outcomes:
        mark = "ok  " if o.correct else "MISS"
        print(f"{mark} {o.id:>6}  hit@{o.hit_rank or '-'}  {o.question}\n             -> {o.answer}")
    print()
    types = by_type(report)
    if len(types) > 1:
        for name, (right, total) in types.items():
            print(f"  {name:<18} {right:>3} / {total}")
        print()
    print(f"questions            {len(report.outcomes)}")
    print(f"accuracy             {report.accuracy:.3f}")
    print(f"answerable correct   {report.answerable_accuracy:.3f} ({report.false_abstentions} wrongly abstained)")
    print(f"unanswerable abstain {report.abstention_accuracy:.3f}")
    print(f"retrieval hit@1/@3   {report.hit_at_1:.3f} / {report.hit_at_3:.3f}")
    print(f"longest answer       {report.max_answer_chars} characters")
    print(f"ask latency p50/p99  {report.latency_p50_ms:.1f} / {report.latency_p99_ms:.1f} ms")
    if report.generator:
        print(f"generator            {report.generator}")
        print(f"generated answers    {report.generated_answers}")
        print(f"sentences written    {report.sentences_written}")
        print(f"sentences kept       {report.sentences_kept}")
        print(f"quoted instead       {report.fallbacks}")
        print(f"failing the check    {report.unsupported_sentences}")
        print(f"seconds per answer   {report.seconds_per_answer:.2f}")
    return 0


def _describe(n: int, p) -> str:
    who = f" · {p.speaker}" if p.speaker else ""
    return f"[{n}] {p.doc_id}, characters {p.start}–{p.end}{who}\n    {p.text}"


def _print_json(value) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    sys.exit(main())
