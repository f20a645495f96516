"""The chat page: ask the documents, see the quoted answer and its sources.

    rag serve [--host 127.0.0.1] [--port 7860] [--index DIR] [--share] [--generate MODEL]
    python app.py …   (the same)

Built on the `rag` library only; no retrieval logic lives here. Every answer
carries its own sources (a collapsed block under it; its `[n]` markers open the
source they cite) and the side panel shows the sources of the answer last asked
or clicked. Each browser session may upload its own .txt/.md/.html/.pdf files:
they are indexed, with the bundled documents, into a directory of that
session's own, deleted with Gradio's copies of the uploads when the tab closes;
other sessions never see them.

The page's API (usable with `gradio_client`, or one plain POST to
`/gradio_api/run/ask`) has two endpoints, `/ask` and `/retrieve`, returning the
same data as `rag.ask` and `rag.retrieve` as JSON; a call with inputs they
cannot take is answered 4xx with what was wrong.

Everything the server writes (Gradio's copies of uploads, each session's
index) goes in a folder of its own inside $GRADIO_TEMP_DIR or the system's
temporary folder, removed when it stops (Ctrl-C or SIGTERM).

The modules: `rendering` (pure functions from an answer to the page's HTML and
Markdown), `sessions` (one browser tab's conversation, uploads and pending
questions), `uploads` (what a tab may add, and the events that add and remove
files), `api` (the API's inputs checked before Gradio sees them), `layout`
(`Page`, one method per event, and the Gradio layout wired to it), `server`
(the command: flags, the temporary folder, serving).

Left out: accounts, saved conversations, uploads larger than the page can index
in a few seconds (`rag index` takes any size).
"""

import importlib.util
import os
import sys

from rag.errors import MissingDependencyError


def require_gradio() -> None:
    """A one-line error, before any work, when the `app` extra is missing."""
    if importlib.util.find_spec("gradio") is None:
        raise MissingDependencyError("the chat page needs Gradio: pip install 'rag[app]'")


def import_gradio():
    """Gradio, imported as the page wants it (the modules that use it call this
    first). Importing this package changes nothing: `rag ask` and library users
    never get these settings."""
    require_gradio()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from an offline tool
    # After each queued event Gradio sums up its last 10,000 with pandas, for a
    # monitoring page this app does not serve: a tenth of the server's time when
    # many ask through the queue. Once in a billion events is never.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**9))
    if importlib.util.find_spec("matplotlib") is None:
        # Gradio tries `import matplotlib` twice around every call, in its event
        # loop; when it is not installed, each try searches sys.path again (a tenth
        # of the server's time under load). Known absent, the import fails at once.
        sys.modules["matplotlib"] = None
    import gradio

    return gradio


# The questions offered on the page, about the bundled article; the first also warms the model up.
EXAMPLES = [
    "What did Pistorius say about international law?",
    "What did Healey say about the Indo-Pacific?",
    "How many North Korean troops are thought to be involved?",
    "What did Baroness Chapman say about the defence of Ukraine?",
]
