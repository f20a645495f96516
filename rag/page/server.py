"""Server: `rag serve` (and `python app.py`): flags, a temporary folder of its own, serving until stopped."""

import argparse
import os
import shutil
import signal
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path

import rag
from rag import config
from rag.config import MAX_FILE_BYTES
from rag.page import EXAMPLES, import_gradio, require_gradio


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `rag serve` and `python app.py`."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--index", metavar="DIR", help="index directory (default: the bundled article)")
    parser.add_argument("--share", action="store_true", help="ask Gradio for a public share link")
    parser.add_argument("--generate", metavar="MODEL", default=config.default_generator(),
                        help="offer answers written by this model, checked sentence by sentence: a transformers "
                             "model directory, a .gguf file or openai:URL#NAME (default: $RAG_GENERATOR)")


def main(argv: list[str] | None = None) -> None:
    """`python app.py`: the page, with `rag serve`'s flags."""
    parser = argparse.ArgumentParser(description="Chat with your documents, offline.")
    add_arguments(parser)
    try:
        run(parser.parse_args(argv))
    except rag.RagError as exc:
        raise SystemExit(f"rag: error: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM, then remove everything the server wrote."""
    require_gradio()
    temp = own_temp_dir()  # before Gradio and ONNX Runtime are imported: they read it once
    # Stopped as by Ctrl-C: Gradio closes the server, then its folder is removed. SIGINT
    # too, explicitly: started from a script in the background, a process inherits
    # SIGINT ignored, and Python then leaves it ignored (a clean-clone CI run hung so).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        serve(args)
    except KeyboardInterrupt:
        pass  # stopped before the page was served
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return 0


def own_temp_dir() -> Path:
    """A new folder for everything this process writes while it serves, inside
    $GRADIO_TEMP_DIR or the system's temporary folder: Gradio's copies of
    uploads go there, and all that `tempfile` makes (each session's index), and
    what libraries put in $TMPDIR (ONNX Runtime's .ses file)."""
    parent = os.environ.get("GRADIO_TEMP_DIR")
    if parent:
        os.makedirs(parent, exist_ok=True)
    own = tempfile.mkdtemp(prefix="rag-app-", dir=parent)
    os.environ["GRADIO_TEMP_DIR"] = os.environ["TMPDIR"] = tempfile.tempdir = own
    return Path(own)


def serve(args: argparse.Namespace) -> None:
    """Serve the page until Ctrl-C or SIGTERM."""
    loading = start_loading(args.index, args.generate)
    # Imported while the index opens: Gradio takes the longer of the two.
    gr = import_gradio()
    from starlette.middleware import Middleware

    from rag.page.api import CheckedApi
    from rag.page.layout import CSS, HEAD, build_app

    demo = build_app(loading, generator=args.generate)
    try:
        loading.result()  # a missing or corrupt index is reported here, before the page is served
    except rag.RagError as exc:
        raise SystemExit(f"rag: error: {exc}")
    theme = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    demo.queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, share=args.share, max_file_size=MAX_FILE_BYTES,
        theme=theme, css=CSS, head=HEAD, footer_links=["api"], show_error=False,
        app_kwargs={"middleware": [Middleware(CheckedApi, blocks=demo)]},
    )


def start_loading(index_dir: str | None, generator: str | None = None) -> Future:
    """Open the index in a thread, while Gradio is imported (the slower of the
    two); the models warm up after it, while the page is already served."""
    opened: Future = Future()

    def load():
        try:
            base = rag.load_index(index_dir)
        except BaseException as exc:  # handed to whoever waits on it
            opened.set_exception(exc)
            return
        opened.set_result(base)
        try:
            rag.ask(EXAMPLES[0], base)  # load the model and search structures before the first question
            if generator:
                from rag.generation import generator_for

                generator_for(generator)
        except rag.RagError:
            pass  # a question asked later reports it

    threading.Thread(target=load, name="load-index", daemon=True).start()
    return opened
