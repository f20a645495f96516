import zlib

import pytest

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
    # 1.1 MB of nested <div>s took BeautifulSoup minutes (quadratic); nesting this deep is never prose.
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
