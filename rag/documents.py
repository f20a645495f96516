"""Documents: turn files into `Document` values holding plain text.

Supported: `.txt` (read as UTF-8 text, as written), `.md`/`.markdown`
(rendered by markdown-it-py, then read as text: no `**`, `##` or link
syntax, each heading, list item and table row a line of its own, a leading
heading the title),
`.html`/`.htm` (a web page, one with nav, header, footer, aside, article or main
elements, gives its main text by trafilatura, so menus, footers, bylines,
captions and "related" boxes are not passages; other HTML, or a page where it
finds no main text, gives its visible text via BeautifulSoup, block elements as
line breaks) and `.pdf` (the text layer,
via pypdf; a scanned PDF without one is reported as empty). A directory is
searched recursively for those types; hidden files and other types in it are
skipped.

Every failure a user can cause (missing or unreadable path, empty, binary or
oversized file, unsupported type, unreadable PDF) raises `DocumentError` with a
one-line message. A file name that is not UTF-8 is read, and shown with U+FFFD
for the bytes that are not.

Left out: OCR, Office formats, encodings other than UTF-8 and Windows-1252.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .config import MAX_FILE_BYTES
from .errors import DocumentError, MissingDependencyError, one_line
from .files import TooLargeError, read_regular

TEXT_SUFFIXES = {".txt"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES

_TITLE_MAX = 120


@dataclass(frozen=True)
class Document:
    """A unit of text to answer from. `text` is what passage offsets point into.

    Lone surrogates in its id, title and source (from a file name that is not
    UTF-8, or a broken JSON string) become U+FFFD, so that they can always be
    written as UTF-8: to the index, to JSON, to a terminal. The text is cleaned
    when it is indexed instead: scanning it here would slow every answer that
    reads a long document back from the index.
    """

    id: str
    text: str
    title: str = ""
    source: str | None = None

    def __post_init__(self):
        for name in ("id", "title", "source"):
            value = getattr(self, name)
            if isinstance(value, str):  # a wrong type is left for the indexer to report
                object.__setattr__(self, name, without_surrogates(value))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


# Deeper element nesting than this is refused (real pages stay under a hundred).
MAX_HTML_DEPTH = 1000
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in range(32)}  # a file name may hold a line break


def load_documents(paths, *, max_bytes: int = MAX_FILE_BYTES) -> list[Document]:
    """Load files and directories into documents with unique ids.

    A file's id is its name; a file found in a directory gets its path relative to
    that directory. Ids that would collide get a numeric suffix.
    """
    found: list[tuple[Path, str]] = []
    for raw in paths:
        path = _user_path(raw)
        if not path.exists():
            raise DocumentError(f"{_shown(path)}: no such file or directory")
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                raise DocumentError(
                    f"{_shown(path)}: no supported files in this directory "
                    f"(looked for {', '.join(sorted(SUPPORTED_SUFFIXES))})"
                )
            found.extend((f, f.relative_to(path).as_posix()) for f in files)
        else:
            found.append((path, path.name))

    docs, seen = [], set()
    for path, name in found:
        doc_id = without_surrogates(name)  # before the check for duplicates: two such names may become one
        unique, n = doc_id, 2
        while unique in seen:
            unique, n = f"{doc_id}~{n}", n + 1
        seen.add(unique)
        docs.append(load_file(path, doc_id=unique, max_bytes=max_bytes))
    return docs


def load_file(path, *, doc_id: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Load one file into a `Document`, choosing the reader by its suffix."""
    path = _user_path(path)
    if not path.is_file():
        raise DocumentError(f"{_shown(path)}: " + ("not a regular file" if path.exists() else "no such file"))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{_shown(path)}: unsupported file type '{_shown(suffix) or '(none)'}' "
            f"(supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
        )
    data = _read_at_most(path, max_bytes)
    if suffix in PDF_SUFFIXES:
        title, text = _read_pdf(path, data)
    else:
        raw = _decode(path, data)
        if suffix in HTML_SUFFIXES:
            title, text = _read_html(raw, path)
        elif suffix in MARKDOWN_SUFFIXES:
            title, text = _read_markdown(raw)
        else:
            title, text = "", _normalise_newlines(raw)
    if not text.strip():
        hint = " (a scanned PDF without a text layer?)" if suffix in PDF_SUFFIXES else ""
        raise DocumentError(f"{_shown(path)}: file has no text{hint}")
    if suffix in TEXT_SUFFIXES or (suffix in MARKDOWN_SUFFIXES and not title):
        title = first_line(text)  # a plain text's title is its first line, by convention
    elif not meaningful_title(title):
        title = path.name
    return Document(id=doc_id or path.name, text=text, title=title, source=str(path))


def meaningful_title(title: str) -> bool:
    """Whether a PDF's or web page's own title names it. Printing from a browser
    leaves "about:blank", word processors "Untitled" or "Microsoft Word - x.docx",
    exporters a file path or URL: a reader is better served by the file name."""
    title = title.strip()
    return bool(re.search(r"[^\W\d_]{2}", title)) and not re.fullmatch(
        r"(about:\S*|untitled\b.*|document\d*|microsoft \w+ - .*|\w+://\S*|\S*[/\\]\S*|\S+\.\w{2,4})",
        title, flags=re.IGNORECASE)


def without_surrogates(text: str) -> str:
    """`text` with lone UTF-16 surrogates (from invalid UTF-8 on a command line, or
    a broken JSON string) replaced by U+FFFD, one character for one, so offsets
    hold and the tokenizer gets text it can encode."""
    return _SURROGATE.sub("\ufffd", text)


def _user_path(raw) -> Path:
    path = Path(raw).expanduser()
    if "\x00" in str(path):  # no file has such a name, and Python says so with a ValueError, not an OSError
        raise DocumentError(f"{_shown(path)}: a path cannot contain a NUL character; check the file name")
    return path


def _shown(path) -> str:
    """A path as a one-line message can show it, whatever bytes its name holds."""
    return without_surrogates(str(path)).translate(_CONTROL_ESCAPES)


def _read_at_most(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refused before reading when over `max_bytes` (and when
    it holds more than its size says: one still being written, or /proc's)."""
    try:
        return read_regular(path, max_bytes)
    except TooLargeError as exc:
        raise DocumentError(f"{_shown(path)}: file is too large ({exc.size / 2**20:.1f} MB; "
                            f"the limit is {max_bytes / 2**20:.0f} MB): split it into smaller files") from None
    except OSError as exc:
        raise DocumentError(f"{_shown(path)}: cannot be read ({exc.strerror or exc})") from exc


def first_line(text: str) -> str:
    """A fallback title: the first non-empty line, shortened."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= _TITLE_MAX else line[: _TITLE_MAX - 1].rstrip() + "…"
    return ""


def _decode(path: Path, data: bytes) -> str:
    sample = data[:8192]
    if b"\x00" in sample:
        raise DocumentError(f"{_shown(path)}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    control = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
    if control > 0.05 * min(len(text), 8192):
        raise DocumentError(f"{_shown(path)}: looks like a binary file, not text")
    return text


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "nav",
    "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
    "table", "tr", "td", "th", "blockquote", "pre", "figure", "figcaption", "hr",
}
_HIDDEN_TAGS = {"script", "style", "noscript", "template", "head", "svg", "iframe"}


def _read_html(html: str, path: Path) -> tuple[str, str]:
    try:
        from bs4 import BeautifulSoup
    except ImportError as exc:
        raise MissingDependencyError("reading HTML needs beautifulsoup4: pip install beautifulsoup4") from exc
    depth = _nesting(html)
    if depth > MAX_HTML_DEPTH:
        # No prose is nested this deep: a page that is, is broken or hostile.
        raise DocumentError(f"{_shown(path)}: HTML nested {depth:,} levels deep (the limit is {MAX_HTML_DEPTH:,})")
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    main = None
    if soup.find(_PAGE_PARTS):  # a web page, with furniture around its text; a plain document has none
        for tag in soup.find_all(_INLINE):
            tag.unwrap()  # trafilatura's fallback for short pages breaks lines at inline tags
        main = _main_text(str(soup))
    lines = (" ".join(line.split()) for line in (main or _visible_text(soup)).splitlines())
    return title, "\n".join(line for line in lines if line)


def _read_markdown(markdown: str) -> tuple[str, str]:
    """Markdown as the text a reader sees: rendered (CommonMark and tables), then
    read as HTML is, one line per block; the title is a heading that opens it."""
    from bs4 import BeautifulSoup
    from markdown_it import MarkdownIt

    markdown = re.sub(r"\A---\n.*?\n---\n", "", _normalise_newlines(markdown), flags=re.S)  # YAML front matter
    # HTML in it is rendered too, then read as any page is: its tags are not words.
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    soup = BeautifulSoup(html, "html.parser")
    first = soup.find(True)
    title = first.get_text(" ", strip=True) if first is not None and first.name in ("h1", "h2") else ""
    for row in soup.find_all("tr"):  # a table row is one line, its cells words apart
        for cell in row.find_all(["td", "th"]):
            cell.unwrap()
        for gap in [c for c in row.contents if isinstance(c, str) and not c.strip()]:
            gap.replace_with(" ")
    lines = (" ".join(line.split()) for line in _visible_text(soup).splitlines())
    return title, "\n".join(line for line in lines if line)


_PAGE_PARTS = ["nav", "header", "footer", "aside", "article", "main"]


_INLINE = ["a", "abbr", "b", "cite", "code", "em", "font", "i", "mark", "q", "small", "span", "strong", "sub", "sup",
           "time", "u"]


def _main_text(html: str) -> str | None:
    """The article in a web page, without its menus, footers, bylines and captions."""
    try:
        import trafilatura
    except ImportError as exc:
        raise MissingDependencyError("reading HTML needs trafilatura: pip install trafilatura lxml_html_clean") from exc
    return trafilatura.extract(html, favor_recall=True, include_tables=True, include_comments=False,
                               include_images=False, deduplicate=False)


def _visible_text(soup) -> str:
    """The page's text, with a line break for each <br> and around each block element.

    One walk over the tree, which is left as parsed: inserting the breaks into it
    instead costs BeautifulSoup a scan of the element's siblings and descendants
    per insertion, minutes on a long page.
    """
    from bs4 import CData, NavigableString

    out: list[str] = []
    todo = [soup]  # nodes still to visit, and the break that ends a block, in reverse order
    while todo:
        node = todo.pop()
        if isinstance(node, NavigableString):
            if type(node) in (NavigableString, CData):  # not comments, doctypes or declarations
                out.append(node)
        elif isinstance(node, str):
            out.append(node)
        elif node.name == "br":
            out.append("\n")
        elif node.name not in _HIDDEN_TAGS:
            end = "\n" if node.name in _BLOCK_TAGS else ""
            out.append(end)
            todo.append(end)
            todo.extend(reversed(node.contents))
    return "".join(out)


_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)[^>]*?(/?)>")
# Elements that never nest (void) or whose end tag is optional: left open, they are not depth.
_FLAT_TAGS = set("""
area base br col embed hr img input link meta source track wbr p li dt dd option optgroup tr td th
thead tbody tfoot colgroup caption rt rp
""".split())


def _nesting(html: str) -> int:
    """The deepest nesting of elements, in one linear pass over the tags."""
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(html):
        if name.lower() in _FLAT_TAGS or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def _read_pdf(path: Path, data: bytes) -> tuple[str, str]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:
        raise MissingDependencyError("reading PDF needs pypdf: pip install pypdf") from exc
    import io
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are not the user's problem
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError(f"{_shown(path)}: PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title or "") if reader.metadata else ""
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"{_shown(path)}: not a readable PDF ({one_line(exc)})") from exc
    except Exception as exc:
        # A damaged or hostile PDF fails deep inside pypdf in ways no list of
        # its exceptions covers (nested arrays, compression bombs, flipped bytes).
        raise DocumentError(f"{_shown(path)}: not a readable PDF ({type(exc).__name__})") from exc
    return str(title).strip(), "\n\n".join(_unwrap(page) for page in pages if page.strip())


_SENTENCE_END = set(".!?:”\"")
# A heading is at most this share of the page's usual (median) line, and this many
# words: a wrapped line of running text is near the full width.
HEADING_SHARE = 0.6
HEADING_WORDS = 12


def _unwrap(page: str) -> str:
    """Join a PDF page's layout lines back into paragraphs.

    pypdf returns one line per printed line; a sentence that wraps must become one
    line again or it would be cut in two. A line ending in sentence punctuation and
    followed by a capitalised line is kept as a paragraph end.
    """
    page = re.sub(r"-\n(?=[a-z])", "", _normalise_newlines(page))
    lines = [line.strip() for line in page.split("\n")]
    # The page's usual line (not its widest: a title across two columns is wider than their lines).
    widths = sorted(len(line) for line in lines if line)
    usual = widths[len(widths) // 2] if widths else 0
    # A paragraph's lines are joined once, at the end: growing its string line by
    # line, and matching a regular expression against its end each time, took time
    # quadratic in its length (minutes for a page of lines without full stops).
    paragraphs: list[list[str]] = []  # an empty one is a blank line
    heading = False  # the line before was a heading: what follows starts a paragraph
    for i, line in enumerate(lines):
        if not line:
            if paragraphs and paragraphs[-1]:
                paragraphs.append([])
            continue
        starts = not (paragraphs and paragraphs[-1]) or heading or (
            paragraphs[-1][-1][-1] in _SENTENCE_END and line[0].isupper())
        if starts:
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
        following = lines[i + 1] if i + 1 < len(lines) else ""
        # "Town hall renovation" over "The renovation starts …": a short line that
        # opens a paragraph, ends without punctuation and is followed by a capital
        # is a heading, a line of its own, not the start of the sentence after it.
        heading = (starts and following[:1].isupper() and line[-1] not in _SENTENCE_END | {",", ";"}
                   and len(line) < HEADING_SHARE * usual and len(line.split()) <= HEADING_WORDS)
    return "\n".join(" ".join(lines) for lines in paragraphs).strip()
