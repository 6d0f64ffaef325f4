"""Reading scanned letters: PDF, PNG, JPEG and multi-page TIFF to text, with tesseract.

:func:`ocr_scan` returns a :class:`ScanText` (the text of every page, with tesseract's
mean word confidence) or raises :class:`ScanUnreadable` with a reason written for staff,
and never anything else, and never hangs:

- the type is sniffed from the bytes (a text file named ``.pdf`` is refused, a PNG named
  ``.pdf`` is read as the PNG it is);
- size, page count and pixels per page are checked *before* anything is decoded (image
  headers through Pillow's lazy open; PDF pages through ``pdfinfo``), so a
  decompression bomb costs nothing;
- PDF pages are rendered by ``pdftoppm`` and every page is read by the ``tesseract``
  binary, each in a subprocess with a timeout, inside a folder of the private scratch
  folder (:func:`caseapp.scratch.scratch`: in memory, files 0600) that is removed
  afterwards; ``OMP_THREAD_LIMIT=1`` keeps tesseract from fighting the other
  threads of a 2-core machine (five times faster there);
- ``cancel`` is asked between pages; ``progress(done, total)`` is told after each one.

:func:`page_images` gives PNG pictures of the pages for display beside the form.
Nothing here imports Qt.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from caseapp.errors import UserError
from caseapp.scratch import open_private, scratch, write_private

MiB = 1024 * 1024

__all__ = [
    "DEFAULT_LIMITS",
    "ScanCancelled",
    "ScanLimits",
    "ScanPage",
    "ScanText",
    "ScanUnreadable",
    "media_type_of",
    "ocr_scan",
    "page_images",
]


class ScanUnreadable(UserError):
    """A scan that cannot be read; ``reason`` says why, in words for the desk."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)

    @property
    def reason(self) -> str:
        return str(self.args[0])


class ScanCancelled(ScanUnreadable):
    """The reading was cancelled by the caller (``cancel()`` returned True)."""

    def __init__(self) -> None:
        super().__init__("reading the scan was cancelled")


@dataclass(frozen=True)
class ScanLimits:
    """What one scan may cost before it is refused instead of read."""

    max_bytes: int = 50 * MiB
    max_pages: int = 30
    max_pixels: int = 50_000_000
    """Per page, as decoded (a US Letter page at 600 dpi is 34 million)."""
    dpi: int = 300
    """PDF pages are rendered at this resolution (less for pages too large for it)."""
    min_dpi: int = 100
    """A PDF page that does not fit in ``max_pixels`` even at this resolution is refused."""
    page_timeout_s: float = 60.0
    """Reading one page (tesseract), and rendering one PDF page (pdftoppm)."""
    total_timeout_s: float = 600.0
    """The whole scan, all pages."""
    min_words: int = 3
    """Fewer confidently read words than this in the whole scan: it has no readable text."""
    min_word_confidence: float = 40.0


DEFAULT_LIMITS = ScanLimits()


@dataclass(frozen=True)
class ScanPage:
    number: int
    """1 for the first page."""
    text: str
    mean_confidence: float | None
    """tesseract's mean word confidence (0-100) on this page; None when it found no word."""


@dataclass(frozen=True)
class ScanText:
    pages: tuple[ScanPage, ...]
    media_type: str
    sha256: str
    """Of the original bytes."""
    text: str = field(init=False)
    """All pages' text, joined with a form feed."""
    page_count: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", "\f".join(page.text for page in self.pages))
        object.__setattr__(self, "page_count", len(self.pages))


# ---------------------------------------------------------------- sniffing ----

_MEDIA_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
}
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF"}


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    # The PDF header may follow some junk, within the first 1,024 bytes.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    return None


def media_type_of(data: bytes) -> str | None:
    """The media type the bytes are (by their magic), if one :func:`ocr_scan` reads."""
    kind = _sniff(data)
    return _MEDIA_TYPES[kind] if kind else None


def _kind_or_refuse(data: bytes, filename: str, limits: ScanLimits) -> str:
    name = Path(filename or "").name or "the file"
    if not data:
        raise ScanUnreadable(f"{name} is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise ScanUnreadable(
            f"{name} is too large to read ({len(data) / MiB:.1f} MB; the limit is "
            f"{limits.max_bytes / MiB:.0f} MB)")
    kind = _sniff(data)
    if kind is None:
        claimed = Path(filename or "").suffix.lower()
        what = f" although it is named {claimed}" if claimed else ""
        raise ScanUnreadable(
            f"{name} is not a PDF or image{what} (scans must be PDF, PNG, JPEG or TIFF)")
    return kind


# ---------------------------------------------------------------- subprocesses ----

def _run(args: Sequence[str], *, what: str, timeout: float,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a helper program; a missing program, a timeout or a crash become refusals."""
    try:
        return subprocess.run(
            list(args), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
            env=env, check=False, umask=0o077)  # the pages and text it writes: 0600
    except FileNotFoundError as exc:
        package = "tesseract" if args[0] == "tesseract" else "poppler-utils"
        raise ScanUnreadable(
            f"{args[0]} is not installed ({package}): run bash .ci/setup") from exc
    except subprocess.TimeoutExpired as exc:
        raise ScanUnreadable(f"{what} took longer than {timeout:.3g} s") from exc
    except OSError as exc:
        raise ScanUnreadable(f"{what} failed: {exc.strerror or exc}") from exc


def _stderr(result: subprocess.CompletedProcess[bytes]) -> str:
    text = result.stderr.decode("utf-8", "replace").strip()
    return text.splitlines()[-1][:200] if text else f"exit status {result.returncode}"


class _Deadline:
    def __init__(self, limits: ScanLimits) -> None:
        self.limits = limits
        self.end = time.monotonic() + limits.total_timeout_s

    def timeout(self) -> float:
        """Time a page may take now: the per-page limit, or what is left of the total."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise ScanUnreadable(
                f"the scan took longer than {self.limits.total_timeout_s:.3g} s in all")
        return min(self.limits.page_timeout_s, left)


# ---------------------------------------------------------------- pages as images ----

@dataclass(frozen=True)
class _PdfPage:
    number: int
    dpi: int


def _pdf_pages(path: Path, limits: ScanLimits, deadline: _Deadline,
               dpi: int) -> list[_PdfPage]:
    """Count the pages and choose each page's resolution from its size, before rendering."""
    result = _run(["pdfinfo", "-f", "1", "-l", str(limits.max_pages + 1), str(path)],
                  what="reading the PDF", timeout=deadline.timeout())
    info = result.stdout.decode("latin-1")
    if result.returncode != 0:
        message = _stderr(result)
        if "password" in message.lower() or "encrypt" in message.lower():
            raise ScanUnreadable("the PDF is password-protected")
        raise ScanUnreadable(f"the PDF is damaged and cannot be read ({message})")
    count_match = re.search(r"^Pages:\s+(\d+)", info, re.M)
    count = int(count_match.group(1)) if count_match else 0
    if count == 0:
        raise ScanUnreadable("the PDF has no pages")
    if count > limits.max_pages:
        raise ScanUnreadable(
            f"the scan has {count} pages; at most {limits.max_pages} are read at once")
    sizes = {int(m.group(1)): (float(m.group(2)), float(m.group(3))) for m in re.finditer(
        r"^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+) pts", info, re.M)}
    pages = []
    for number in range(1, count + 1):
        width_pt, height_pt = sizes.get(number, (612.0, 792.0))
        square_inches = max(width_pt / 72, 0.01) * max(height_pt / 72, 0.01)
        fitting = int((limits.max_pixels / square_inches) ** 0.5)
        page_dpi = min(dpi, fitting)
        if page_dpi < limits.min_dpi:
            raise ScanUnreadable(
                f"page {number} is too large to read ({width_pt / 72:.0f} × "
                f"{height_pt / 72:.0f} inches)")
        pages.append(_PdfPage(number, page_dpi))
    return pages


def _render_pdf_page(path: Path, page: _PdfPage, folder: Path, deadline: _Deadline, *,
                     gray: bool, scale_to_width: int | None = None) -> Path:
    out = folder / f"page-{page.number}"
    args = ["pdftoppm", "-f", str(page.number), "-l", str(page.number), "-singlefile",
            "-png"]
    if gray:
        args.append("-gray")
    if scale_to_width:
        args += ["-scale-to-x", str(scale_to_width), "-scale-to-y", "-1"]
    else:
        args += ["-r", str(page.dpi)]
    result = _run([*args, str(path), str(out)], what=f"rendering page {page.number}",
                  timeout=deadline.timeout())
    png = out.with_suffix(".png")
    if result.returncode != 0 or not png.exists():
        raise ScanUnreadable(
            f"page {page.number} of the PDF cannot be rendered ({_stderr(result)})")
    return png


def _open_image(data: bytes, kind: str, limits: ScanLimits) -> Image.Image:
    """Pillow's lazy open: the header only, no pixels decoded yet."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # hostile input: Pillow's warnings are noise
            return Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[kind]])
    except Image.DecompressionBombError as exc:  # past twice Pillow's own pixel limit
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(declared.group(1)):,} pixels; " if declared else ""
        raise ScanUnreadable(
            f"page 1 is too large to read ({size}the limit is "
            f"{limits.max_pixels / 1e6:.0f} million)") from exc
    except Exception as exc:  # Pillow reads hostile bytes; any failure is "damaged"
        raise ScanUnreadable(f"the {kind.upper()} image is damaged and cannot be read") from exc


def _image_frames(data: bytes, kind: str, limits: ScanLimits,
                  mode: str = "L") -> Iterator[Image.Image]:
    """Each page (TIFF frame) of an image file, checked for size before it is decoded,
    with EXIF rotation applied and transparency laid on white, in ``mode`` (L: gray)."""
    image = _open_image(data, kind, limits)
    with image:
        number = 0
        while True:
            number += 1
            if number > limits.max_pages:
                raise ScanUnreadable(
                    f"the scan has more than {limits.max_pages} pages; at most "
                    f"{limits.max_pages} are read at once")
            yield _decoded_frame(image, number, limits, mode)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    image.seek(number)
            except EOFError:
                return
            except Exception as exc:
                raise ScanUnreadable(
                    f"page {number + 1} of the image is damaged and cannot be read") from exc


def _decoded_frame(image: Image.Image, number: int, limits: ScanLimits,
                   mode: str) -> Image.Image:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ScanUnreadable(f"page {number} of the image has no pixels")
    if width * height > limits.max_pixels:
        raise ScanUnreadable(
            f"page {number} is too large to read ({width:,} × {height:,} pixels; the "
            f"limit is {limits.max_pixels / 1e6:.0f} million)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
            frame = ImageOps.exif_transpose(image) if number == 1 else image.copy()
            if frame.mode in ("RGBA", "LA", "PA") or (
                    frame.mode == "P" and "transparency" in frame.info):
                rgba = frame.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                frame = Image.alpha_composite(white, rgba)
            return frame.convert(mode)
    except ScanUnreadable:
        raise
    except Exception as exc:  # truncated data, bad compression, odd modes
        raise ScanUnreadable(
            f"page {number} of the image is damaged and cannot be read") from exc


def _image_dpi(image: Image.Image) -> int:
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0])) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    return value if 70 <= value <= 1200 else 300


# ---------------------------------------------------------------- tesseract ----

_LANGUAGE = re.compile(r"[A-Za-z_]{2,20}")


def _tesseract_env() -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def _read_page(png: Path, number: int, dpi: int, languages: Sequence[str],
               deadline: _Deadline, limits: ScanLimits) -> tuple[ScanPage, int]:
    """The page's text and confidence, and how many words on it were read confidently."""
    out = png.with_name(f"ocr-{number}")
    timeout = deadline.timeout()
    result = _run(
        ["tesseract", str(png), str(out), "-l", "+".join(languages), "--psm", "3",
         "--dpi", str(dpi), "txt", "tsv"],
        what=f"page {number}", timeout=timeout, env=_tesseract_env())
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace")
        missing = re.search(r"Failed loading language '([^']+)'", message)
        if missing:
            raise ScanUnreadable(
                f"tesseract has no '{missing.group(1)}' language data: run bash .ci/setup")
        raise ScanUnreadable(f"page {number} cannot be read by tesseract ({_stderr(result)})")
    try:
        text = out.with_suffix(".txt").read_text("utf-8", "replace")
        tsv = out.with_suffix(".tsv").read_text("utf-8", "replace")
    except OSError as exc:
        raise ScanUnreadable(f"page {number}: tesseract wrote no text ({exc})") from exc
    words = _words(tsv)
    mean = round(sum(c for _, c in words) / len(words), 1) if words else None
    confident = sum(1 for word, confidence in words
                    if confidence >= limits.min_word_confidence and _REAL_WORD.search(word))
    return ScanPage(number=number, text=_tidy(text), mean_confidence=mean), confident


_REAL_WORD = re.compile(r"[^\W\d_]{2,}")


def _words(tsv: str) -> list[tuple[str, float]]:
    """(word, confidence) for each word of tesseract's TSV output."""
    words = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        try:
            confidence = float(row.get("conf") or -1)
        except ValueError:
            continue
        word = (row.get("text") or "").strip()
        if row.get("level") == "5" and confidence >= 0 and word:
            words.append((word, confidence))
    return words


def _tidy(text: str) -> str:
    """tesseract's text without trailing spaces, its form feed, or runs of blank lines."""
    lines = [line.rstrip() for line in text.replace("\f", "").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# ---------------------------------------------------------------- entry points ----

def ocr_scan(
    data: bytes,
    filename: str,
    *,
    languages: Sequence[str] = ("eng", "spa"),
    cancel: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    limits: ScanLimits = DEFAULT_LIMITS,
) -> ScanText:
    """Read the text of a scanned letter; raises only :class:`ScanUnreadable`.

    ``languages`` are tesseract's codes (eng, spa). ``cancel`` is asked before each page
    (True raises :class:`ScanCancelled`); ``progress(done, total)`` is told after each.
    """
    kind = _kind_or_refuse(data, filename, limits)
    if not languages or not all(_LANGUAGE.fullmatch(code) for code in languages):
        raise ScanUnreadable(f"unknown OCR language(s): {', '.join(languages) or 'none'}")
    deadline = _Deadline(limits)
    pages: list[ScanPage] = []
    confident = 0

    def before_page() -> None:
        if cancel is not None and cancel():
            raise ScanCancelled()

    with _work_folder() as folder:
        if kind == "pdf":
            pdf = _write_scan(folder, data)
            pdf_pages = _pdf_pages(pdf, limits, deadline, limits.dpi)
            total = len(pdf_pages)
            if progress is not None:
                progress(0, total)
            for page in pdf_pages:
                before_page()
                png = _render_pdf_page(pdf, page, folder, deadline, gray=True)
                read, words = _read_page(png, page.number, page.dpi, languages, deadline,
                                         limits)
                pages.append(read)
                confident += words
                png.unlink(missing_ok=True)
                if progress is not None:
                    progress(page.number, total)
        else:
            total = _frame_count(data, kind, limits)
            if progress is not None:
                progress(0, total)
            for number, frame in enumerate(_image_frames(data, kind, limits), start=1):
                before_page()
                png = folder / f"page-{number}.png"
                dpi = _image_dpi(frame)
                try:
                    with open_private(png) as out:
                        frame.save(out, format="PNG", dpi=(dpi, dpi))
                except Exception as exc:
                    raise ScanUnreadable(f"page {number} cannot be prepared ({exc})") from exc
                finally:
                    frame.close()
                read, words = _read_page(png, number, dpi, languages, deadline, limits)
                pages.append(read)
                confident += words
                png.unlink(missing_ok=True)
                if progress is not None:
                    progress(number, max(total, number))

    if confident < limits.min_words:
        raise ScanUnreadable("the scan has no readable text (blank or too blurry)")
    return ScanText(pages=tuple(pages), media_type=_MEDIA_TYPES[kind],
                    sha256=hashlib.sha256(data).hexdigest())


@contextlib.contextmanager
def _work_folder() -> Iterator[Path]:
    """A new folder for one scan's files in the private scratch folder, removed after."""
    try:
        folder = scratch().folder("ocr")
    except (UserError, OSError) as exc:
        raise ScanUnreadable(f"no private folder for the scan's pages ({exc})") from exc
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_scan(folder: Path, data: bytes) -> Path:
    try:
        return write_private(folder, "scan.pdf", data)
    except OSError as exc:  # a full memory folder
        raise ScanUnreadable(f"the scan cannot be prepared ({exc.strerror or exc})") from exc


def _frame_count(data: bytes, kind: str, limits: ScanLimits) -> int:
    """How many pages an image file has, for progress; counting stops past the limit."""
    if kind != "tiff":
        return 1
    image = _open_image(data, kind, limits)
    with image:
        count = 1
        while count <= limits.max_pages:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    image.seek(count)
            except EOFError:
                break
            except Exception:
                break  # the frame is refused, with its reason, when it is reached
            count += 1
    if count > limits.max_pages:
        raise ScanUnreadable(
            f"the scan has more than {limits.max_pages} pages; at most "
            f"{limits.max_pages} are read at once")
    return count


def page_images(data: bytes, filename: str, *, max_width: int = 1200,
                limits: ScanLimits = DEFAULT_LIMITS) -> list[bytes]:
    """PNG pictures of the scan's pages, at most ``max_width`` pixels wide, for display.

    Same checks as :func:`ocr_scan`; raises only :class:`ScanUnreadable`.
    """
    kind = _kind_or_refuse(data, filename, limits)
    max_width = max(16, max_width)
    deadline = _Deadline(limits)
    pictures: list[bytes] = []
    with _work_folder() as folder:
        if kind == "pdf":
            pdf = _write_scan(folder, data)
            for page in _pdf_pages(pdf, limits, deadline, limits.dpi):
                png = _render_pdf_page(pdf, page, folder, deadline, gray=False,
                                       scale_to_width=max_width)
                pictures.append(png.read_bytes())
                png.unlink(missing_ok=True)
            return pictures
        _frame_count(data, kind, limits)
        for frame in _image_frames(data, kind, limits, mode="RGB"):
            deadline.timeout()
            try:
                if frame.width > max_width:
                    height = max(1, round(frame.height * max_width / frame.width))
                    frame = frame.resize((max_width, height), Image.Resampling.LANCZOS)
                buffer = io.BytesIO()
                frame.save(buffer, format="PNG", optimize=False)
            except Exception as exc:
                raise ScanUnreadable(f"a page cannot be shown ({exc})") from exc
            finally:
                frame.close()
            pictures.append(buffer.getvalue())
    return pictures
