import os
import zlib
from pathlib import Path

import pytest

import rag
from rag import Document, DocumentError, load_documents
from rag.documents import load_file

from .pdf import pdf_with_content, write_pdf


def test_text_file_keeps_text_and_takes_first_line_as_title(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("Überschrift: Café\nZweite Zeile mit 1,500 Soldaten.\n", encoding="utf-8")
    doc = load_file(path)
    assert doc == Document(id="note.txt", text="Überschrift: Café\nZweite Zeile mit 1,500 Soldaten.\n",
                           title="Überschrift: Café", source=str(path))


def test_markdown_title_drops_heading_marks(tmp_path):
    path = tmp_path / "readme.md"
    path.write_text("# Release notes\n\nThe tool now reads PDF files.\n", encoding="utf-8")
    assert load_file(path).title == "Release notes"


def test_markdown_is_read_as_the_text_it_shows(tmp_path):
    path = tmp_path / "allotments.md"
    path.write_text("# Allotment rules\n\nThe **annual fee** is *£25 a year*, payable in [April](https://x.org).\n\n"
                    "## Rules\n\n- No bonfires after 6pm.\n- Dogs on leads.\n\n| Plot | Holder |\n|---|---|\n"
                    "| 12 | Zoë Lee |\n\n<script>alert(1)</script>\n", encoding="utf-8")
    doc = load_file(path)
    assert doc.title == "Allotment rules"
    assert doc.text.splitlines()[:7] == ["Allotment rules", "The annual fee is £25 a year, payable in April.", "Rules",
                                         "No bonfires after 6pm.", "Dogs on leads.", "Plot Holder", "12 Zoë Lee"]
    assert "**" not in doc.text and "##" not in doc.text and "https://" not in doc.text
    assert load_file(tmp_path / "allotments.md").text == doc.text  # the same file, the same text


def test_html_keeps_visible_text_only(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Budget news</title><style>p{color:red}</style></head>"
        "<body><script>var secret = 1;</script><h1>Budget</h1>"
        "<p>The minister <b>said</b> the budget is balanced.</p><p>Second&nbsp;paragraph.</p></body></html>",
        encoding="utf-8",
    )
    doc = load_file(path)
    assert doc.title == "Budget news"
    assert doc.text == "Budget\nThe minister said the budget is balanced.\nSecond paragraph."


def test_pdf_text_layer_is_read(tmp_path):
    path = tmp_path / "report.pdf"
    write_pdf(path, ["The committee met in Oslo in 2021.", "It approved the plan."])
    doc = load_file(path)
    assert "The committee met in Oslo in 2021." in doc.text
    assert "It approved the plan." in doc.text


def test_directory_is_searched_recursively_with_relative_ids(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("First document.", encoding="utf-8")
    (tmp_path / "two.md").write_text("Second document.", encoding="utf-8")
    (tmp_path / "skip.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / ".hidden.txt").write_text("Hidden.", encoding="utf-8")
    docs = load_documents([tmp_path])
    assert [d.id for d in docs] == ["a/one.txt", "two.md"]


def test_same_file_name_twice_gets_unique_ids(tmp_path):
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "news.txt").write_text(f"Text {sub}.", encoding="utf-8")
    docs = load_documents([tmp_path / "x" / "news.txt", tmp_path / "y" / "news.txt"])
    assert [d.id for d in docs] == ["news.txt", "news.txt~2"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "file has no text"),
        ("blank.txt", b"  \n\n \t", "file has no text"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks like a binary file"),
        ("sheet.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "not a readable PDF"),
    ],
)
def test_bad_files_raise_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=message) as info:
        load_documents([path])
    assert "\n" not in str(info.value)


def test_missing_path(tmp_path):
    with pytest.raises(DocumentError, match="no such file or directory"):
        load_documents([tmp_path / "nope.txt"])


def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000, encoding="utf-8")
    with pytest.raises(DocumentError, match=r"file is too large \(0.0 MB; the limit is 0 MB\)"):
        load_documents([path], max_bytes=1000)


def test_file_over_the_size_limit_gets_one_line_saying_what_to_do(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as f:
        f.truncate(25 * 2**20)  # sparse: 25 MB that take no disk
    with pytest.raises(DocumentError, match=r"huge.txt: file is too large \(25.0 MB; the limit is 20 MB\): "
                                            r"split it into smaller files$"):
        load_documents([path])


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="needs Linux's /proc")
def test_file_larger_than_its_reported_size_is_held_to_the_limit(tmp_path):
    # /proc's files report a size of 0 whatever they hold, as a file still being written may.
    path = tmp_path / "maps.txt"
    path.symlink_to("/proc/self/maps")
    with pytest.raises(DocumentError, match=r"maps.txt: file is too large"):
        load_documents([path], max_bytes=100)


def test_directory_without_supported_files(tmp_path):
    (tmp_path / "x.docx").write_bytes(b"PK")
    with pytest.raises(DocumentError, match="no supported files"):
        load_documents([tmp_path])


@pytest.mark.parametrize("name, content, keys", [
    # 10 KB of nested arrays: pypdf recurses until Python's limit
    ("nested.pdf", b"BT /F1 12 Tf 72 720 Td " + b"[" * 4000 + b"(x)" + b"]" * 4000 + b" TJ ET", b""),
    # 300 MB of text compressed into 300 KB: pypdf stops at its limit
    ("bomb.pdf", zlib.compress(b"BT (" + b"a" * 300_000_000 + b") Tj ET", 9), b"/Filter /FlateDecode "),
])
def test_hostile_pdfs_are_one_line_errors(tmp_path, name, content, keys):
    path = tmp_path / name
    path.write_bytes(pdf_with_content(content, keys))
    with pytest.raises(DocumentError, match=rf"{name}: not a readable PDF \("):
        load_documents([path])


def test_deeply_nested_html_is_refused_quickly(tmp_path):
    # Nesting this deep is never prose.
    path = tmp_path / "n.html"
    path.write_text("<div>" * 30000 + "The ferry starts in June." + "</div>" * 30000, encoding="utf-8")
    with pytest.raises(DocumentError, match=r"n.html: HTML nested 30,000 levels deep"):
        load_documents([path])
    # Unclosed paragraphs and list items are not nesting.
    ok = tmp_path / "ok.html"
    ok.write_text("<html><body>" + "<p>A paragraph.<li>An item." * 3000 + "</body></html>", encoding="utf-8")
    assert load_documents([ok])[0].text.startswith("A paragraph.")


@pytest.mark.parametrize("title, shown", [
    ("Quarterly report: Café openings", "Quarterly report: Café openings"),
    ("about:blank", "minutes.pdf"),  # printed from a browser
    ("Microsoft Word - minutes_v2.docx", "minutes.pdf"),
    ("Untitled", "minutes.pdf"),
    ("C:\\Users\\ann\\minutes.doc", "minutes.pdf"),
    ("   ", "minutes.pdf"),
    (None, "minutes.pdf"),  # no title in the PDF at all
])
def test_pdf_title_comes_from_the_pdf_when_it_names_it_else_the_file_name(tmp_path, title, shown):
    path = tmp_path / "minutes.pdf"
    write_pdf(path, ["The board met on Monday."], title=title)
    assert load_file(path).title == shown


def test_html_without_a_title_is_named_by_its_file(tmp_path):
    path = tmp_path / "notes.html"
    path.write_text("<p>The ferry starts in June.</p>", encoding="utf-8")
    assert load_file(path).title == "notes.html"


# Long documents: each of these took minutes to read, in time quadratic in its
# length (BeautifulSoup scans an element's siblings and descendants for every
# line break inserted into its tree; a PDF paragraph grew a line at a time).


def test_long_html_page_keeps_each_paragraph_on_its_own_line(tmp_path):
    path = tmp_path / "long.html"
    path.write_text("<html><body>" + "".join(f"<p>Paragraph {i}.</p>" for i in range(20_000)) + "</body></html>",
                    encoding="utf-8")
    assert load_file(path).text.split("\n") == [f"Paragraph {i}." for i in range(20_000)]


def test_html_line_breaks_are_kept_on_a_long_page(tmp_path):
    path = tmp_path / "poem.html"
    path.write_text("<p>" + "".join(f"Line {i}<br>" for i in range(40_000)) + "</p>", encoding="utf-8")
    assert load_file(path).text.split("\n") == [f"Line {i}" for i in range(40_000)]


def test_unclosed_paragraphs_are_read_in_order(tmp_path):
    # html.parser nests each unclosed <p> or <li> in the one before: 24,000 levels deep.
    path = tmp_path / "notes.html"
    path.write_text("".join(f"<p>Note {i}.<li>Item {i}." for i in range(12_000)), encoding="utf-8")
    assert load_file(path).text.split("\n") == [line for i in range(12_000) for line in (f"Note {i}.", f"Item {i}.")]


def test_pdf_page_of_lines_without_full_stops_becomes_one_paragraph(tmp_path):
    # Joining the lines took time quadratic in the paragraph. One text operator
    # holding all the lines keeps pypdf's part of the test fast.
    lines = [f"row {i} of the table" for i in range(40_000)]
    path = tmp_path / "table.pdf"
    path.write_bytes(pdf_with_content(b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % "\\n".join(lines).encode()))
    assert load_file(path).text == " ".join(lines)


# Names: a file name on Linux is bytes, and one that is not UTF-8 reaches Python
# with lone surrogates, which no UTF-8 file or terminal can hold.


@pytest.mark.parametrize("given", ["file", "folder"])
def test_file_whose_name_is_not_utf8_is_indexed_and_retrieved(tmp_path, hashing, given):
    folder = tmp_path / os.fsdecode(b"d\xe9p\xf4t")
    folder.mkdir()
    path = folder / os.fsdecode(b"caf\xe9.txt")
    path.write_text("The ferry starts in June.", encoding="utf-8")
    index = rag.build_index([path if given == "file" else folder], tmp_path / "index", embedder=hashing)
    [hit] = rag.retrieve("When does the ferry start?", k=1, index=index)
    assert (hit.doc_id, hit.text) == ("caf\ufffd.txt", "The ferry starts in June.")
    manifest = (tmp_path / "index" / "manifest.json").read_bytes().decode("utf-8")  # valid UTF-8
    assert "caf\ufffd.txt" in manifest and "d\ufffdp\ufffdt" in manifest


def test_document_with_lone_surrogates_is_indexed(tmp_path, hashing):
    doc = Document(id="a\ud800b", text="The ferry starts in June \udce9.", title="Caf\udce9",
                   source="notes/\udce9.txt")
    assert (doc.id, doc.title, doc.source) == ("a\ufffdb", "Caf\ufffd", "notes/\ufffd.txt")
    index = rag.build_index([doc], tmp_path / "index", embedder=hashing)
    [hit] = rag.retrieve("When does the ferry start?", k=1, index=index)
    assert (hit.doc_id, hit.text) == ("a\ufffdb", "The ferry starts in June \ufffd.")


def test_names_that_differ_only_in_bytes_that_are_not_utf8_keep_apart(tmp_path):
    for name in (b"caf\xe8.txt", b"caf\xe9.txt"):
        (tmp_path / os.fsdecode(name)).write_text("Text.", encoding="utf-8")
    assert [d.id for d in load_documents([tmp_path])] == ["caf\ufffd.txt", "caf\ufffd.txt~2"]


@pytest.mark.parametrize("name, shown", [
    (b"caf\xe9.xlsx", "caf\ufffd.xlsx"),
    (b"two\nlines.xlsx", "two\\x0alines.xlsx"),
])
def test_error_about_a_strange_file_name_is_one_printable_line(tmp_path, name, shown):
    path = tmp_path / os.fsdecode(name)
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(DocumentError, match="unsupported file type") as info:
        load_documents([path])
    assert shown in str(info.value) and "\n" not in str(info.value)
    str(info.value).encode("utf-8")  # what a terminal or the chat page must be able to do


def test_path_with_a_nul_character_is_a_one_line_error():
    with pytest.raises(DocumentError, match=r"^a\\x00b.txt: a path cannot contain a NUL character") as info:
        load_documents(["a\x00b.txt"])
    assert "\x00" not in str(info.value)


def test_a_web_page_gives_its_article_without_menus_bylines_captions_or_footer(tmp_path):
    path = tmp_path / "glacier.html"
    path.write_text(
        "<html><head><title>Glacier retreat doubles | CNN</title></head><body>"
        "<nav><ul><li><a href='/'>Home</a></li><li><a href='/world'>World</a></li></ul></nav>"
        "<header><h1>Glacier retreat doubles</h1><div class='byline'>By Jane Doe, CNN</div>"
        "<div class='timestamp'>Updated 10:03 AM EST, Thu December 5, 2024</div></header>"
        "<div class='video'><span>Video Ad Feedback</span></div>"
        "<article><p>(CNN) — Alpine glaciers lost <b>twice</b> as much ice in the past decade, a study found.</p>"
        "<figure><img src='a.jpg'><figcaption>The Rhône glacier in 2023. Source: Getty Images</figcaption></figure>"
        "<p>“The pace is alarming,” said Matthias Huss, who leads the Swiss monitoring network.</p>"
        "<p>The researchers measured 4,000 glaciers using satellite images taken between 2000 and 2023.</p></article>"
        "<aside><h3>Related</h3><ul><li>Sea levels rise faster</li></ul></aside>"
        "<footer><p>© 2024 Cable News Network. All Rights Reserved.</p></footer></body></html>",
        encoding="utf-8",
    )
    text = load_file(path).text
    assert "Alpine glaciers lost twice as much ice" in text and "said Matthias Huss" in text
    for furniture in ("Home", "By Jane Doe", "Updated 10:03", "Video Ad Feedback", "Getty", "Related",
                      "Sea levels", "All Rights Reserved"):
        assert furniture not in text


def test_a_pdf_heading_is_a_line_of_its_own(tmp_path):
    path = tmp_path / "notice.pdf"
    write_pdf(path, ["Town hall renovation", "The renovation of the town hall starts on 3 March 2025 and will",
                     "take eight months. The council said the work would be paid for from",
                     "the harbour fund.", "", "Costs", "The project costs 1.2 million euros in all, the council said."])
    text = load_file(path).text
    assert text.splitlines() == ["Town hall renovation",
                                 "The renovation of the town hall starts on 3 March 2025 and will take eight months. "
                                 "The council said the work would be paid for from the harbour fund.",
                                 "Costs", "The project costs 1.2 million euros in all, the council said."]


def test_markdown_front_matter_and_html_are_not_words(tmp_path):
    path = tmp_path / "post.md"
    path.write_text("---\ntitle: draft\n---\n<p align=\"center\"><img src=\"logo.png\"></p>\n\n# Harbour news\n\n"
                    "The ferry <b>carries</b> 240 passengers.\n", encoding="utf-8")
    doc = load_file(path)
    assert doc.text.splitlines() == ["Harbour news", "The ferry carries 240 passengers."]
    assert doc.title == "Harbour news"
