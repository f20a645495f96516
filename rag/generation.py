"""Generation: a language model writes a draft answer from numbered passages.

A generator is named by one string (`rag ask --generate MODEL`,
`rag.ask(..., generator=MODEL)`, `RAG_GENERATOR` for the page):

- a GGUF file, run by llama.cpp (the prebuilt `xllamacpp` wheel: quantised
  as the file is, loaded once per process, one thread per free core; its
  embedded server listens on 127.0.0.1 only, on a port of its choosing);
- a local `transformers` model directory (run by `transformers` on the CPU);
- `openai:URL#NAME`, a server that speaks the OpenAI chat API (Ollama,
  llama.cpp's server, vLLM, LM Studio, `transformers serve`), through the
  official `openai` client; the key, if the server wants one, from
  `OPENAI_API_KEY`.

`prompt()` numbers the passages and asks for an answer from them only, each
sentence cited `[n]`. A generator only writes: nothing it writes reaches a
reader until `answer.generative` has checked it against its citations.

Every failure (a missing model, a server that is down, a model slower than the
timeout) is a `GenerationError` with a one-line message; the caller answers
without the model.

Left out: sampling (answers are greedy, so the same question gets the same
draft), tools, images, models that need a GPU.
"""

import importlib.util
import math
import os
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Protocol

from . import config
from .chunking import Passage
from .errors import GenerationError, MissingDependencyError, one_line

MISSING = "generative answers need the generate extra: pip install -e '.[generate]'"
# Passages the model reads at most, and their characters in all: a small model
# on a CPU reads a 3,000-character prompt in about a second.
MAX_PASSAGES = 4
MAX_PROMPT_CHARS = 3000
MAX_NEW_TOKENS = 80  # three short sentences
# llama.cpp's context: the prompt (at most MAX_PROMPT_CHARS of passages, the rules
# and the question, about 1,100 tokens) and the reply, with room to spare.
CONTEXT_TOKENS = 2048
REFUSAL = "NOT IN THE DOCUMENTS"

# Worded for small models too: SmolLM2-135M cites 7 of 10 drafts with this
# prompt, 0-2 of 10 with a few others tried (an example answer, the rules in
# the user's turn).
SYSTEM = (
    "Answer the question in one or two sentences, using only the passages. "
    "After each sentence write the number of the passage you used, like [1]. "
    f"If the passages do not answer the question, write: {REFUSAL}."
)


class TooSlow(GenerationError):
    """The model passed its deadline."""


# Yielded last by a generator whose reply stopped at `max_tokens`: its last
# sentence is cut off, a prefix of something that may pass every check.
CUT = "\x00cut"


class Generator(Protocol):
    name: str

    def stream(self, messages: list[dict], *, max_tokens: int, deadline: float,
               stop: threading.Event | None = None) -> Iterator[str]:
        """The reply to chat `messages`, piece by piece, then `CUT` if it hit
        `max_tokens`; `GenerationError` when `time.monotonic()` passes
        `deadline` or the model fails."""


class Draft(NamedTuple):
    text: str
    cut: bool  # stopped at the token limit: the last sentence is unfinished


def prompt(question: str, passages: list[Passage], history: list[str] = ()) -> list[dict]:
    """Chat messages: the rules, then the passages numbered [1]..[n] with their
    speakers, the earlier questions, and the question."""
    blocks, used = [], 0
    for n, p in enumerate(passages[:MAX_PASSAGES], 1):
        text = p.text[:max(200, MAX_PROMPT_CHARS - used)]
        used += len(text)
        blocks.append(f"[{n}] " + (f"({p.speaker}) " if p.speaker else "") + text)
    earlier = "".join(f"Earlier question: {h}\n" for h in history)
    user = "\n\n".join(blocks) + f"\n\n{earlier}Question: {question}\nAnswer (end each sentence with [passage number]):"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


_lock = threading.Lock()
_loaded: dict[str, Generator] = {}


def generator_for(spec) -> Generator:
    """The generator `spec` names, loaded once per process (a loaded one as it is)."""
    if hasattr(spec, "stream"):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise GenerationError("no model named: give a transformers model directory, a .gguf file or openai:URL#NAME")
    spec = spec.strip()
    with _lock:
        if spec not in _loaded:
            if spec.startswith("openai:"):
                _loaded[spec] = OpenAIGenerator(spec)
            elif spec.lower().endswith(".gguf"):
                _loaded[spec] = LlamaCppGenerator(Path(spec))
            else:
                _loaded[spec] = TransformersGenerator(Path(spec))
        return _loaded[spec]


class LlamaCppGenerator:
    """A GGUF model run by llama.cpp through `xllamacpp`, as quantised as its file."""

    def __init__(self, path: Path):
        path = path.expanduser()
        if not path.is_file():
            raise GenerationError(f"{path}: no such model (give a transformers model directory or a .gguf file)")
        if importlib.util.find_spec("xllamacpp") is None:
            raise MissingDependencyError(MISSING)
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = CONTEXT_TOKENS
        params.n_parallel = 1  # one answer at a time: two would only halve each other's speed
        free = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = free
        params.hostnames = ["127.0.0.1"]
        params.verbosity = -1  # llama.cpp's own log lines are not the reader's
        params.warmup = False
        params.use_jinja = True  # the chat template the model came with, as transformers applies it
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # a file that is not a model llama.cpp can read
            raise GenerationError(f"{path}: cannot load the model ({type(exc).__name__}: {one_line(exc)})") from None
        self.name = path.name

    def stream(self, messages: list[dict], *, max_tokens: int, deadline: float,
               stop: threading.Event | None = None) -> Iterator[str]:
        import queue

        pieces: queue.Queue = queue.Queue()
        late: list[bool] = []

        def chunk(data) -> bool:
            choice = (data.get("choices") or [{}])[0] if isinstance(data, dict) else {}
            pieces.put(("text", (choice.get("delta") or {}).get("content") or ""))
            if choice.get("finish_reason"):
                pieces.put(("reason", choice["finish_reason"]))
            if time.monotonic() > deadline:
                late.append(True)
            return bool(late) or bool(stop and stop.is_set())  # True ends the stream

        def run():
            try:
                reply = self._server.handle_chat_completions(
                    {"messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": True}, chunk)
                if isinstance(reply, dict) and "error" in reply:
                    pieces.put(("error", one_line(str(reply["error"].get("message", reply["error"])))))
            except Exception as exc:  # reported by the reader below
                pieces.put(("error", f"{type(exc).__name__}: {one_line(exc)}"))
            finally:
                pieces.put(("end", None))

        threading.Thread(target=run, name="rag-generate", daemon=True).start()
        reason = None
        while True:
            try:
                kind, value = pieces.get(timeout=max(0.1, deadline - time.monotonic() + 5))
            except queue.Empty:
                raise TooSlow("the model took longer than its time limit") from None
            if kind == "end":
                break
            if kind == "error":
                raise GenerationError(f"the model failed ({value})")
            if kind == "reason":
                reason = value
            elif value:
                yield value
        if late:
            raise TooSlow("the model took longer than its time limit")
        if reason == "length":
            yield CUT


class TransformersGenerator:
    """A causal language model run by `transformers` on the CPU (a model folder;
    a GGUF file too, dequantised, which `bench/generate.py` compares with llama.cpp)."""

    def __init__(self, path: Path):
        path = path.expanduser()
        if not path.exists():
            raise GenerationError(f"{path}: no such model (give a transformers model directory or a .gguf file)")
        gguf = path.suffix.lower() == ".gguf"
        if not gguf and not (path / "config.json").is_file():
            raise GenerationError(f"{path}: not a transformers model directory (no config.json) or a .gguf file")
        needs = ["transformers", "torch"] + (["gguf", "accelerate"] if gguf else [])
        if any(importlib.util.find_spec(m) is None for m in needs):
            raise MissingDependencyError(MISSING)
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        where, extra = (str(path.parent), {"gguf_file": path.name}) if gguf else (str(path), {})
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True, **extra)
            self._model = AutoModelForCausalLM.from_pretrained(where, local_files_only=True, **extra).eval()
        except Exception as exc:  # transformers raises many types for a file it cannot read
            raise GenerationError(f"{path}: cannot load the model ({type(exc).__name__}: {one_line(exc)})") from None
        if self._tokenizer.chat_template is None:
            raise GenerationError(f"{path}: the model has no chat template; use an instruction-tuned model")
        self.name = path.name
        self._busy = threading.Lock()  # one generation at a time: two would only halve each other's speed

    def stream(self, messages: list[dict], *, max_tokens: int, deadline: float,
               stop: threading.Event | None = None) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, TextIteratorStreamer

        late: list[bool] = []

        class Enough(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                if time.monotonic() > deadline:
                    late.append(True)
                return bool(late) or bool(stop and stop.is_set())

        text = self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        inputs = self._tokenizer(text, return_tensors="pt")
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=max(1.0, deadline - time.monotonic()))
        failed: list[BaseException] = []
        written: list[int] = []

        def run():
            # Another answer may be generating: wait for it, but not past the deadline or a stop.
            while not self._busy.acquire(timeout=0.1):
                if time.monotonic() > deadline:
                    late.append(True)
                if late or (stop and stop.is_set()):
                    streamer.end()
                    return
            try:
                with torch.inference_mode():
                    out = self._model.generate(**inputs, streamer=streamer, max_new_tokens=max_tokens,
                                               do_sample=False, stopping_criteria=[Enough()],
                                               pad_token_id=self._tokenizer.pad_token_id or self._tokenizer.eos_token_id)
                written.append(out.shape[1] - inputs["input_ids"].shape[1])
            except BaseException as exc:  # reported by the reader below
                failed.append(exc)
                streamer.end()
            finally:
                self._busy.release()

        worker = threading.Thread(target=run, name="rag-generate", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                yield piece
        except Exception:  # the streamer's queue timed out: the model is stuck behind the deadline
            pass
        worker.join(timeout=max(0.0, deadline - time.monotonic()) + 5)
        if failed:
            raise GenerationError(f"the model failed ({type(failed[0]).__name__}: {one_line(failed[0])})")
        if late or worker.is_alive():
            raise TooSlow("the model took longer than its time limit")
        if written and written[0] >= max_tokens:
            yield CUT


class OpenAIGenerator:
    """A model behind an OpenAI-compatible chat server."""

    def __init__(self, spec: str):
        url, _, model = spec.removeprefix("openai:").partition("#")
        if not url.startswith(("http://", "https://")) or not model:
            raise GenerationError(f"{spec!r}: write an OpenAI-compatible server as openai:URL#MODEL_NAME, "
                                  "e.g. openai:http://127.0.0.1:11434/v1#llama3.2")
        if importlib.util.find_spec("openai") is None:
            raise MissingDependencyError(MISSING)
        self.url, self.model, self.name = url, model, model

    def stream(self, messages: list[dict], *, max_tokens: int, deadline: float,
               stop: threading.Event | None = None) -> Iterator[str]:
        import openai

        left = max(1.0, deadline - time.monotonic())
        client = openai.OpenAI(base_url=self.url, api_key=os.environ.get("OPENAI_API_KEY") or "none",
                               timeout=openai.Timeout(left, connect=min(left, 5.0)), max_retries=0)
        late = f"the model server at {self.url} took longer than its time limit"
        finished = threading.Event()
        try:
            with client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                temperature=0, stream=True) as chunks:
                def watch():  # a server that sends only keep-alives must not outlast the deadline or a stop
                    while not finished.wait(0.1):
                        if time.monotonic() > deadline or (stop and stop.is_set()):
                            chunks.close()
                            return

                threading.Thread(target=watch, name="rag-generate-watch", daemon=True).start()
                reason = None
                for chunk in chunks:
                    choice = chunk.choices[0] if chunk.choices else None
                    content = getattr(getattr(choice, "delta", None), "content", None)
                    if content:
                        yield content
                    reason = getattr(choice, "finish_reason", None) or reason
                    if time.monotonic() > deadline:
                        raise TooSlow(late)
                    if stop and stop.is_set():
                        return
                if reason == "length":
                    yield CUT
        except openai.APITimeoutError:  # a subclass of the connection error: caught first
            raise TooSlow(late) from None
        except openai.APIConnectionError:
            if time.monotonic() > deadline:  # the watchdog closed a stalled reply
                raise TooSlow(late) from None
            if stop and stop.is_set():
                return
            raise GenerationError(f"cannot reach the model server at {self.url}: is it running?") from None
        except openai.APIStatusError as exc:
            raise GenerationError(f"the model server at {self.url} refused ({exc.status_code}: "
                                  f"{one_line(exc.message)})") from None
        except GenerationError:
            raise
        except Exception as exc:  # an error event, a broken stream, a reply that is not JSON, a closed response
            if time.monotonic() > deadline:
                raise TooSlow(late) from None
            if stop and stop.is_set():
                return
            raise GenerationError(f"the model server at {self.url} sent a reply that cannot be read "
                                  f"({type(exc).__name__}: {one_line(exc)})") from None
        finally:
            finished.set()


def draft(generator: Generator, messages: list[dict], *, timeout: float | None = None,
          on_draft: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> Draft:
    """The model's whole reply, `on_draft` called with the text so far as it grows."""
    seconds = timeout if timeout is not None else config.generate_timeout()
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
        raise GenerationError(f"the time limit must be a positive number of seconds, not {seconds!r}")
    deadline = time.monotonic() + seconds
    text, cut = "", False
    try:
        for piece in generator.stream(messages, max_tokens=MAX_NEW_TOKENS, deadline=deadline, stop=stop):
            if piece == CUT:
                cut = True
                continue
            text += piece
            if on_draft is not None:
                on_draft(text)
    except TooSlow as exc:
        raise GenerationError(f"{exc} ({seconds:g} s; --timeout or RAG_GENERATE_TIMEOUT sets it)") from None
    return Draft(text, cut)
