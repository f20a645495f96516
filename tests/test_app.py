"""The chat page in a real headless Chromium, against a real `app.py` process.

Needs Debian's Chromium (`apt-get install chromium`); `.ci/run` installs it.
Screenshots go to tests/artifacts/ (ignored by git).
"""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import rag

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="browser tests need Chromium: apt-get install chromium (then run make test again)"
)
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"
QUESTION = "Ask a question about the documents…"
PISTORIUS = "we are checking the implications with regard to international law"
# Without these, Chromium reaches for Google's services at start and in the background.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(article_index):
    port = free_port()
    log = open(ARTIFACTS.mkdir(exist_ok=True) or ARTIFACTS / "app.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--index", str(article_index.path)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"app.py did not start; see {ARTIFACTS / 'app.log'}")
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server)
    page.get_by_placeholder(QUESTION).wait_for()
    yield page
    context.close()


def ask(page, question: str, *, expect: str):
    """Type a question, press Enter, wait until the chat shows `expect`."""
    before = page.locator("#chat .message").count()
    page.get_by_placeholder(QUESTION).fill(question)
    page.get_by_placeholder(QUESTION).press("Enter")
    page.locator("#chat").get_by_text(expect).last.wait_for(timeout=30_000)
    page.wait_for_function(f"document.querySelectorAll('#chat .message').length >= {before + 2}")
    return page.locator("#chat").inner_text()


def upload(page, *paths: Path, expect: str) -> str:
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in paths])
    page.locator("#chat").get_by_text(expect).last.wait_for(timeout=60_000)
    return page.locator("#chat").inner_text()


def test_pistorius_question_shows_quote_citation_and_highlighted_source(page):
    chat = ask(page, "What did Pistorius say about international law?", expect="[1]")
    assert f"German defence minister Boris Pistorius said “{PISTORIUS}” of the development" in chat
    mark = page.locator("#sources mark")
    mark.wait_for()
    assert PISTORIUS in mark.inner_text()
    head = page.locator("#source-1 .source-head").inner_text()
    assert head.startswith("[1] North Korean troops in Russia") and "Boris Pistorius" in head and "749–914" in head
    assert "24 passages from 1 document(s)" in page.locator("#loaded").inner_text()
    page.wait_for_timeout(300)  # let the last streamed words paint
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)


def test_abstention_is_a_plain_message(page):
    chat = ask(page, "What did Emmanuel Macron say about the troops?", expect="never mention “Emmanuel Macron”.")
    assert "The documents don't say: they never mention “Emmanuel Macron”." in chat
    assert "No sources" in page.locator("#sources").inner_text()


def test_follow_up_question_is_understood(page):
    ask(page, "What did Pistorius say about international law?", expect="[1]")
    chat = ask(page, "And what did he say about South Korea?", expect="security of South Korea")
    assert "Understood as: What did Boris Pistorius say about South Korea?" in chat


def test_upload_answers_in_its_session_only(browser, server, page, tmp_path):
    notes = tmp_path / "ferry-news.txt"
    notes.write_text("Ferry news\nThe harbour master, Ingrid Solberg, said the new ferry carries 240 passengers.\n",
                     encoding="utf-8")
    chat = upload(page, notes, expect="Indexed")
    assert "Indexed ferry-news.txt (2 passages). Ask me about it." in chat  # title line + sentence
    assert "2 document(s)" in page.locator("#loaded").inner_text()
    chat = ask(page, "How many passengers does the new ferry carry?", expect="240 passengers")
    assert "The harbour master, Ingrid Solberg, said the new ferry carries 240 passengers. [1]" in chat
    assert "Ferry news" in page.locator("#source-1 .source-head").inner_text()
    # The bundled article is still there for this session.
    ask(page, "What did Pistorius say about international law?", expect=PISTORIUS)

    other = browser.new_context().new_page()
    other.goto(server)
    other.get_by_placeholder(QUESTION).wait_for()
    chat = ask(other, "How many passages does the new ferry carry?", expect="don't say")
    assert "240" not in chat and "Solberg" not in chat
    assert "1 document(s)" in other.locator("#loaded").inner_text()
    other.context.close()


def test_bad_input_gets_friendly_messages_and_the_app_keeps_serving(page, tmp_path):
    chat = ask(page, "   ", expect="Please type a question")
    chat = ask(page, "w" * 50_000, expect="too long")
    assert "Sorry: the question is too long (50,000 characters; the limit is 1,000)." in chat

    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    chat = upload(page, binary, expect="photo.txt")
    assert "Couldn't use photo.txt: looks like a binary file, not text." in chat
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00")
    chat = upload(page, program, expect="setup.exe")
    assert "Couldn't use setup.exe: unsupported file type" in chat
    big = tmp_path / "big.txt"
    big.write_bytes(b"All work and no play. " * 1_000_000)  # 22 MB
    chat = upload(page, big, expect="big.txt")
    assert "Couldn't use big.txt: file is too large (the limit is 20 MB)." in chat

    ask(page, "What did Healey say about the Indo-Pacific?", expect="indivisible link with security concerns")


def test_phone_width_stacks_sources_under_the_chat(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(server)
    page.get_by_placeholder(QUESTION).wait_for()
    ask(page, "What did Chapman tell peers?", expect="[1]")
    chat, sources = page.locator("#chat").bounding_box(), page.locator("#sources").bounding_box()
    assert sources["y"] >= chat["y"] + chat["height"]
    assert chat["width"] <= 390 and sources["width"] <= 390
    page.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=True)
    context.close()


def test_api_returns_what_the_python_api_returns(server, article_index):
    from gradio_client import Client

    client = Client(server, verbose=False)
    question = "What did Healey say about the Indo-Pacific?"
    data = client.predict(question, api_name="/ask")
    expected = rag.ask(question, article_index)
    assert data["answer"] == expected.text and data["abstained"] is False
    assert [(c["doc_id"], c["start"], c["end"], c["speaker"]) for c in data["citations"]] == [
        (p.doc_id, p.start, p.end, p.speaker) for p in expected.citations
    ]
    passages = client.predict(question, 3, api_name="/retrieve")
    assert [(p["text"], p["start"]) for p in passages] == [
        (p.text, p.start) for p in rag.retrieve(question, k=3, index=article_index)
    ]
    with pytest.raises(Exception, match="the question is empty"):
        client.predict("", api_name="/ask")
    with pytest.raises(Exception, match="the question is empty"):
        client.predict(api_name="/ask")
    for k in ("abc", None, "inf"):
        with pytest.raises(Exception, match="k must be a whole number of at least 1"):
            client.predict(question, k, api_name="/retrieve")
    # A user's mistake is the user's message, not a traceback in the server's log.
    assert "Traceback" not in (ARTIFACTS / "app.log").read_text()
