"""Documents: turn files into `Document` values holding plain text.

Supported: `.txt` and `.md` (read as UTF-8 text, markup kept as written),
`.html`/`.htm` (visible text only, via BeautifulSoup; scripts, styles and the
head are dropped, block elements become line breaks) and `.pdf` (the text layer,
via pypdf; a scanned PDF without one is reported as empty). A directory is
searched recursively for those types; hidden files and other types in it are
skipped.

Every failure a user can cause (missing path, empty, binary or oversized file,
unsupported type, unreadable PDF) raises `DocumentError` with a one-line message.

Left out: OCR, Office formats, encodings other than UTF-8 and Windows-1252.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .config import MAX_FILE_BYTES
from .errors import DocumentError, MissingDependencyError

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES

_TITLE_MAX = 120


@dataclass(frozen=True)
class Document:
    """A unit of text to answer from. `text` is what passage offsets point into."""

    id: str
    text: str
    title: str = ""
    source: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


# Deeper element nesting than this is refused (real pages stay under a hundred).
MAX_HTML_DEPTH = 1000
_SURROGATE = re.compile("[\ud800-\udfff]")


def load_documents(paths, *, max_bytes: int = MAX_FILE_BYTES) -> list[Document]:
    """Load files and directories into documents with unique ids.

    A file's id is its name; a file found in a directory gets its path relative to
    that directory. Ids that would collide get a numeric suffix.
    """
    found: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise DocumentError(f"{path}: no such file or directory")
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                raise DocumentError(
                    f"{path}: no supported files in this directory "
                    f"(looked for {', '.join(sorted(SUPPORTED_SUFFIXES))})"
                )
            found.extend((f, f.relative_to(path).as_posix()) for f in files)
        else:
            found.append((path, path.name))

    docs, seen = [], set()
    for path, doc_id in found:
        unique, n = doc_id, 2
        while unique in seen:
            unique, n = f"{doc_id}~{n}", n + 1
        seen.add(unique)
        docs.append(load_file(path, doc_id=unique, max_bytes=max_bytes))
    return docs


def load_file(path, *, doc_id: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Load one file into a `Document`, choosing the reader by its suffix."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DocumentError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{path}: unsupported file type '{suffix or '(none)'}' "
            f"(supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentError(f"{path}: file is too large ({size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB)")
    data = path.read_bytes()
    if suffix in PDF_SUFFIXES:
        title, text = _read_pdf(path, data)
    else:
        raw = _decode(path, data)
        title, text = _read_html(raw, path) if suffix in HTML_SUFFIXES else ("", _normalise_newlines(raw))
    if not text.strip():
        hint = " (a scanned PDF without a text layer?)" if suffix in PDF_SUFFIXES else ""
        raise DocumentError(f"{path}: file has no text{hint}")
    if suffix in TEXT_SUFFIXES:
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
        raise DocumentError(f"{path}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    control = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
    if control > 0.05 * min(len(text), 8192):
        raise DocumentError(f"{path}: looks like a binary file, not text")
    return text


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


_BLOCK_TAGS = [
    "p", "div", "section", "article", "main", "header", "footer", "aside", "nav",
    "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
    "table", "tr", "td", "th", "blockquote", "pre", "figure", "figcaption", "hr",
]


def _read_html(html: str, path: Path) -> tuple[str, str]:
    try:
        from bs4 import BeautifulSoup
    except ImportError as exc:
        raise MissingDependencyError("reading HTML needs beautifulsoup4: pip install beautifulsoup4") from exc
    depth = _nesting(html)
    if depth > MAX_HTML_DEPTH:
        # BeautifulSoup's tree walks take quadratic time on such input; no prose is nested this deep.
        raise DocumentError(f"{path}: HTML nested {depth:,} levels deep (the limit is {MAX_HTML_DEPTH:,})")
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return title, "\n".join(line for line in lines if line)


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
            raise DocumentError(f"{path}: PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title or "") if reader.metadata else ""
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"{path}: not a readable PDF ({exc})") from exc
    except Exception as exc:
        # A damaged or hostile PDF fails deep inside pypdf in ways no list of
        # its exceptions covers (nested arrays, compression bombs, flipped bytes).
        raise DocumentError(f"{path}: not a readable PDF ({type(exc).__name__})") from exc
    return str(title).strip(), "\n\n".join(_unwrap(page) for page in pages if page.strip())


def _unwrap(page: str) -> str:
    """Join a PDF page's layout lines back into paragraphs.

    pypdf returns one line per printed line; a sentence that wraps must become one
    line again or it would be cut in two. A line ending in sentence punctuation and
    followed by a capitalised line is kept as a paragraph end.
    """
    page = re.sub(r"-\n(?=[a-z])", "", _normalise_newlines(page))
    lines = [line.strip() for line in page.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line:
            if out and out[-1] != "":
                out.append("")
            continue
        if out and out[-1] and not (re.search(r"[.!?:”\"]$", out[-1]) and line[:1].isupper()):
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out).strip()
