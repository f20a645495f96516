"""The public functions: plain calls over the pipeline stages.

documents -> chunking -> speakers -> embedding -> lexical -> store -> (query) -> retrieval -> answer

`index` arguments take `None` (the bundled article's index, built on first use),
a path to an index directory, or an opened `Index`. Opened indexes are kept per
process and reopened when their manifest changes on disk.
"""

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from . import config, indexing, store
from .answer import Answer, Answerer, ExtractiveAnswerer
from .chunking import Passage, with_score
from .documents import without_surrogates
from .errors import GenerationError, IndexFormatError, MissingDependencyError, QuestionError
from .embedding import Embedder
from .query import Query, Turn, fallback, read, rewrite, standalone
from .retrieval import search

# Earlier questions a follow-up is read against (the page keeps as many).
MAX_HISTORY = 5
# Answers kept per opened index, so that replaying a conversation costs nothing.
MAX_CACHED_ANSWERS = 256

_lock = threading.Lock()
_opened: dict[Path, tuple[int, store.Index]] = {}


def load_index(index=None) -> store.Index:
    """Open an index (cached per process); see the module docstring for `index`."""
    if isinstance(index, store.Index):
        return index
    path = Path(index).expanduser() if index is not None else config.default_index_dir()
    try:
        key = path.resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop
        raise IndexFormatError(f"{path}: cannot open it ({exc})") from None
    with _lock:
        cached = _opened.get(key)
        if cached and cached[0] == _manifest_mtime(path):
            return cached[1]
        opened = indexing.default_index() if index is None else store.open_index(path)
        _opened[key] = (_manifest_mtime(path), opened)
        return opened


def build_index(sources, index_dir, *, embedder: Embedder | None = None, progress: bool = False,
                on_progress: Callable[[int, int], None] | None = None, int8: bool = False, search: str = "auto",
                milvus: str | None = None, ray: str | None = None) -> store.Index:
    """Index files, directories or `Document`s into `index_dir` (see `indexing.build_index`)."""
    return indexing.build_index(sources, index_dir, embedder=embedder, progress=progress, on_progress=on_progress,
                                int8=int8, search=search, milvus=milvus, ray=ray)


def retrieve(question: str, k: int = 5, index=None, *, mode: str = "hybrid") -> list[Passage]:
    """The `k` passages that best match `question`, best first. `mode` is
    "hybrid" (dense and BM25 fused), or "dense" or "lexical" alone."""
    question = check_question(question)
    if not isinstance(k, int) or k < 1:
        raise QuestionError(f"k must be a whole number of at least 1, not {k!r}")
    opened = load_index(index)
    # Fuse over a deeper pool than k: a passage ranked 8th by both lists beats
    # one ranked 1st by one list only.
    hits = search(opened, question, n=max(k, 50), embedder=opened.embedder(), mode=mode)[:k]
    return [with_score(opened.passages[h.row], h.score) for h in hits]


def ask(question: str, index=None, history=None, *, answerer: Answerer | None = None, generator=None,
        timeout: float | None = None, on_draft: Callable[[str], None] | None = None,
        on_progress: Callable | None = None, stop: threading.Event | None = None) -> Answer:
    """Answer `question` with quoted, cited sentences from the index, or abstain.

    `history` is the user's earlier questions in this conversation, oldest
    first: a follow-up ("And what did he say about Europe?") is read in their
    frame, as the chat page does. `Answer.question` is the question as
    understood: follow-up made whole, typos and other names mended.

    `generator` (a model directory, a .gguf file, `openai:URL#NAME`, or a
    loaded `generation.Generator`) has a model write the answer, keeping only
    the sentences its citations support (see `answer.generative`); the raw
    draft goes to `on_draft` as it grows, and `on_progress` gets a
    `generative.Progress` (words written, sentences checked so far: only what
    passed may be shown as the answer), `stop` ends it early, `timeout`
    (seconds, default `RAG_GENERATE_TIMEOUT`) bounds it. A model that cannot be used
    gives the extractive answer, with `Answer.note` saying why."""
    question = check_question(question)
    opened = load_index(index)
    final = answerer
    if generator is not None:
        try:
            final = _generative(generator, history, timeout, on_draft, on_progress, stop)
        except (GenerationError, MissingDependencyError) as exc:
            return replace(ask(question, opened, history, answerer=answerer), note=f"{exc}; quoted instead")
    if not history:
        return _answer(question, opened, final)
    if isinstance(history, str) or not all(isinstance(h, str) for h in history):
        raise QuestionError("history must be a list of the earlier questions, oldest first")
    embedder = opened.embedder()
    turns: list[Turn] = []
    for earlier in [h for h in history if h.strip()][-MAX_HISTORY:]:
        # Names mended first: "What about Healy?" must find Healey to take his place in the frame.
        earlier = standalone(rewrite(check_question(earlier), opened, embedder), turns, opened)
        turns.append(Turn(earlier, _quoted(_answer(earlier, opened, answerer, earlier=True), opened)))
    understood = standalone(rewrite(question, opened, embedder), turns, opened)
    answer = _answer(understood, opened, final)
    if answer.abstained and (alt := fallback(question, turns, opened)) and alt != understood:
        # "What about X?" in a frame that does not fit X: what X said, if anything.
        second = _answer(alt, opened, final)
        return second if not second.abstained else answer
    return answer


def _quoted(answer: Answer, index: store.Index):
    """Who an answer quoted first, for "he" in the next question."""
    return None if answer.abstained or not answer.citations else index.speaker_of(answer.citations[0])


def _generative(generator, history, timeout, on_draft, on_progress, stop) -> Answerer:
    """The answerer that has `generator` write (`GenerationError` when it cannot be loaded)."""
    from .answer.generative import GenerativeAnswerer
    from .generation import generator_for

    earlier = [h for h in history or [] if isinstance(h, str) and h.strip()][-MAX_HISTORY:]
    return GenerativeAnswerer(generator_for(generator), ExtractiveAnswerer(), history=earlier, timeout=timeout,
                              on_draft=on_draft, on_progress=on_progress, stop=stop)


def _answer(question: str, index: store.Index, answerer: Answerer | None, *, earlier: bool = False) -> Answer:
    """`question` answered; with `earlier`, from a cache, since a conversation
    asks its earlier questions again with every new one."""
    if earlier and answerer is None:
        return index.remember("answers", question, lambda: _answer_now(question, index, ExtractiveAnswerer()),
                              limit=MAX_CACHED_ANSWERS)
    return _answer_now(question, index, answerer or ExtractiveAnswerer())


def _answer_now(question: str, index: store.Index, answerer: Answerer) -> Answer:
    return answerer(*_retrieved(question, index))


def _retrieved(question: str, index: store.Index):
    """What the answer step gets: the question with names mended, the index, its
    hits and the question's vector."""
    embedder = index.embedder()
    # The embedding reads a typo or "Moscow" for "Russia" well enough; the
    # mended names are for BM25 and the answer step, and cost no second encode.
    query_vector = embedder.encode([question])[0]
    question = rewrite(question, index, embedder)
    return question, index, search(index, question, n=50, query_vector=query_vector), query_vector


# Sentences an explanation shows.
EXPLAINED_SENTENCES = 5


@dataclass(frozen=True)
class Explanation:
    """How the answer step read a question and scored its best sentences."""

    question: Query            # as read: form, kind, people, actor, topic, parts …
    candidates: list           # scoring.Candidate, best first: text, speaker, named features, confidence
    min_confidence: float      # what the best must reach for a factoid to be answered
    answer: Answer

    def to_json(self) -> dict:
        """What `rag ask --explain --json` prints."""
        sentences = [{"text": c.text, "speaker": c.speaker, "confidence": round(c.confidence, 3),
                      "rank": round(c.score, 3), "features": {k: round(v, 3) for k, v in vars(c.features).items()}}
                     for c in self.candidates]
        return {"answer": self.answer.to_json(), "read": self.question.to_json(),
                "min_confidence": self.min_confidence, "sentences": sentences}


def explain(question: str, index=None, history=None) -> Explanation:
    """The answer to `question` (as `ask` gives it), with how it was read and the
    best sentences' scores, feature by feature."""
    from .answer.scoring import MIN_CONFIDENCE, ranked, score_sentences

    answer = ask(question, index, history)
    # Scored as `ask` scored them: a question asked alone is embedded as typed;
    # a follow-up, as it was understood.
    asked = answer.question if history else check_question(question)
    understood, opened, hits, vector = _retrieved(asked, load_index(index))  # names mended here, once
    q = read(understood, opened)
    best = ranked(score_sentences(q, opened, hits, vector))[:EXPLAINED_SENTENCES]
    return Explanation(q, best, MIN_CONFIDENCE, answer)


def check_question(question) -> str:
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    question = " ".join(without_surrogates(question).replace("\x00", " ").split())
    if not question:
        raise QuestionError("the question is empty")
    if len(question) > config.MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is too long ({len(question):,} characters; the limit is {config.MAX_QUESTION_CHARS:,})"
        )
    return question


def _manifest_mtime(path: Path) -> int:
    try:
        return (path / store.MANIFEST).stat().st_mtime_ns
    except OSError:
        return -1
