"""Reading scans with the real tesseract and pdftoppm: what is read, and what is refused.

Inputs are made here (Pillow images, ReportLab PDFs, hand-built hostile files), small so
that each page reads in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfgen import canvas

from caseapp.errors import UserError
from caseapp.intake.ocr import (
    ScanCancelled,
    ScanLimits,
    ScanText,
    ScanUnreadable,
    media_type_of,
    ocr_scan,
    page_images,
)
from caseapp.scratch import SCRATCH_ROOT_ENV

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
ENG = ("eng",)


def text_image(lines: list[str], *, width: int = 900, mode: str = "L",
               background: int | tuple[int, ...] = 255,
               ink: int | tuple[int, ...] = 0) -> Image.Image:
    font = ImageFont.truetype(FONT, 30)
    image = Image.new(mode, (width, 60 + 48 * len(lines)), background)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((30, 30 + 48 * index), line, font=font, fill=ink)
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, dpi=(300, 300), **options)
    return buffer.getvalue()


def tiff(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:],
                  compression="tiff_deflate", dpi=(300, 300))
    return buffer.getvalue()


def pdf(pages: list[list[str]], *, size: tuple[float, float] = (300, 100),
        **options: object) -> bytes:
    buffer = io.BytesIO()
    pdf_canvas = canvas.Canvas(buffer, pagesize=size, invariant=1, **options)
    for lines in pages:
        for index, line in enumerate(lines):
            pdf_canvas.setFont("Helvetica", 12)
            pdf_canvas.drawString(14, size[1] - 26 - 16 * index, line)
        pdf_canvas.showPage()
    pdf_canvas.save()
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def refusal(data: bytes, filename: str, **options: object) -> str:
    with pytest.raises(ScanUnreadable) as caught:
        ocr_scan(data, filename, **options)  # type: ignore[arg-type]
    assert isinstance(caught.value, UserError)
    return caught.value.reason


LETTER_LINES = ["Please delete my personal data.", "Jane Example, Fresno CA 93650"]


# ---------------------------------------------------------------- read ----

def test_png_is_read_with_confidence_and_checksum() -> None:
    data = encode(text_image(LETTER_LINES), "PNG")
    scan = ocr_scan(data, "letter.png")
    assert isinstance(scan, ScanText)
    assert "delete my personal data" in scan.text
    assert "Fresno CA 93650" in scan.text
    assert scan.media_type == "image/png"
    assert scan.page_count == 1 and scan.pages[0].number == 1
    assert scan.sha256 == hashlib.sha256(data).hexdigest()
    confidence = scan.pages[0].mean_confidence
    assert confidence is not None and 80 <= confidence <= 100


def test_jpeg_with_colour_and_spanish_text() -> None:
    image = text_image(["Quiero que borren mis datos, señora Muñoz."], mode="RGB",
                       background=(250, 244, 230), ink=(20, 20, 120))
    scan = ocr_scan(encode(image, "JPEG", quality=85), "carta.JPG")
    assert scan.media_type == "image/jpeg"
    assert "borren mis datos" in scan.text and "Muñoz" in scan.text


def test_transparent_png_is_laid_on_white() -> None:
    # Black text on a fully transparent background: read as black on white, not as black.
    image = text_image(LETTER_LINES, mode="RGBA", background=(0, 0, 0, 0),
                       ink=(0, 0, 0, 255))
    assert "delete my personal data" in ocr_scan(encode(image, "PNG"), "t.png",
                                                 languages=ENG).text


def test_jpeg_turned_by_its_exif_orientation() -> None:
    upright = text_image(LETTER_LINES, mode="RGB")
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90° clockwise to view": the pixels are stored turned left
    stored = upright.rotate(-90, expand=True)
    data = encode(stored, "JPEG", quality=90, exif=exif.tobytes())
    assert "delete my personal data" in ocr_scan(data, "phone-photo.jpg", languages=ENG).text


def test_multipage_tiff_reads_every_frame_in_order_with_progress() -> None:
    pages = [text_image([f"Page {word} of the letter"]) for word in ("one", "two", "three")]
    calls: list[tuple[int, int]] = []
    scan = ocr_scan(tiff(pages), "scan.tif", languages=ENG,
                    progress=lambda done, total: calls.append((done, total)))
    assert scan.media_type == "image/tiff"
    assert scan.page_count == 3
    assert [page.number for page in scan.pages] == [1, 2, 3]
    assert [page.text for page in scan.pages] == [
        "Page one of the letter", "Page two of the letter", "Page three of the letter"]
    assert scan.text == "\f".join(page.text for page in scan.pages)
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_pdf_pages_are_rendered_and_read() -> None:
    data = pdf([["Request to delete my data"], ["Second page: VIN and address"]])
    scan = ocr_scan(data, "scan.pdf", languages=ENG)
    assert scan.media_type == "application/pdf"
    assert scan.page_count == 2
    assert "Request to delete my data" in scan.pages[0].text
    assert "Second page" in scan.pages[1].text


def test_type_comes_from_the_bytes_not_the_name() -> None:
    data = encode(text_image(LETTER_LINES), "PNG")
    assert media_type_of(data) == "image/png"
    scan = ocr_scan(data, "misnamed.pdf", languages=ENG)
    assert scan.media_type == "image/png"
    assert "delete my personal data" in scan.text


def test_a_blank_page_among_read_ones_is_kept_empty() -> None:
    pages = [text_image(LETTER_LINES), Image.new("L", (900, 300), 255)]
    scan = ocr_scan(tiff(pages), "two.tiff", languages=ENG)
    assert scan.page_count == 2
    assert scan.pages[1].text == "" and scan.pages[1].mean_confidence is None


# ---------------------------------------------------------------- where ----

@contextmanager
def watching(folder: Path) -> Iterator[dict[Path, int]]:
    """Every file and folder that appears under ``folder`` while the block runs, with its
    permissions (looked at every few milliseconds: tesseract keeps a page for longer)."""
    seen: dict[Path, int] = {}
    done = threading.Event()

    def look() -> None:
        while not done.is_set():
            for top, folders, files in os.walk(folder):  # a folder gone is skipped
                for name in (*folders, *files):
                    path = Path(top, name)
                    with suppress(FileNotFoundError):  # gone between listing and look
                        seen[path] = stat.S_IMODE(path.lstat().st_mode)
            time.sleep(0.002)

    watcher = threading.Thread(target=look, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()


def test_a_scans_pages_and_text_are_written_only_in_the_private_scratch_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "scratch"
    root.mkdir(mode=0o700)
    monkeypatch.setenv(SCRATCH_ROOT_ENV, str(root))
    disk = tmp_path / "temp"  # the system's temporary folder, for Python and the programs
    disk.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(disk))
    monkeypatch.setenv("TMPDIR", str(disk))
    letter = tiff([text_image(LETTER_LINES), text_image(["Page two of the letter"])])
    scanned = pdf([["Request to delete my data"]])

    with watching(root) as seen:
        assert "delete my personal data" in ocr_scan(letter, "scan.tif", languages=ENG).text
        assert "Request to delete" in ocr_scan(scanned, "scan.pdf", languages=ENG).text
        assert len(page_images(scanned, "scan.pdf")) == 1

    mine = root / f"caseapp-{os.getpid()}"
    names = {path.name for path in seen}
    assert {"page-1.png", "page-2.png", "ocr-1.txt", "ocr-1.tsv", "scan.pdf"} <= names
    assert all(mine in path.parents or path == mine for path in seen)
    files = {path.name: mode for path, mode in seen.items() if path.suffix}
    folders = {path.name: mode for path, mode in seen.items() if not path.suffix}
    assert set(files.values()) == {0o600}, files  # also what pdftoppm and tesseract wrote
    assert set(folders.values()) == {0o700}, folders
    assert list(mine.iterdir()) == []  # each scan's folder went when it was read
    assert list(disk.iterdir()) == []


# ---------------------------------------------------------------- refuse ----

def test_empty_file() -> None:
    assert refusal(b"", "scan.pdf") == "scan.pdf is empty (0 bytes)"


def test_text_file_named_pdf() -> None:
    reason = refusal(b"Dear Sir, please delete my data.\n" * 20, "letter.pdf")
    assert reason.startswith("letter.pdf is not a PDF or image although it is named .pdf")


def test_blank_page_has_no_readable_text() -> None:
    blank = encode(Image.new("L", (850, 1100), 255), "PNG")
    assert refusal(blank, "blank.png") == "the scan has no readable text (blank or too blurry)"


def test_noise_without_words_has_no_readable_text() -> None:
    noise = Image.effect_noise((600, 300), 90).point(lambda v: 0 if v < 60 else 255)
    assert "no readable text" in refusal(encode(noise, "PNG"), "noise.png", languages=ENG)


def test_corrupt_png() -> None:
    good = encode(text_image(LETTER_LINES), "PNG")
    damaged = good[:40] + bytes(reversed(good[40:400])) + good[400:]
    assert "damaged" in refusal(damaged, "scan.png")


def test_truncated_jpeg_and_tiff() -> None:
    image = text_image(LETTER_LINES)
    assert "damaged" in refusal(encode(image, "JPEG")[:600], "cut.jpg")
    assert "damaged" in refusal(tiff([image, image])[:300], "cut.tif")


def test_damaged_pdf() -> None:
    assert "PDF is damaged" in refusal(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n%%EOF",
                                       "broken.pdf")


def test_password_protected_pdf() -> None:
    data = pdf([["secret"]], encrypt="open sesame")
    assert refusal(data, "locked.pdf") == "the PDF is password-protected"


def test_png_header_bomb_is_refused_before_decoding() -> None:
    # 100,000 × 100,000 pixels declared (10 billion), a few bytes of data.
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    bomb = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + png_chunk(b"IEND", b""))
    started = time.monotonic()
    reason = refusal(bomb, "bomb.png")
    assert reason == ("page 1 is too large to read (10,000,000,000 pixels; the limit is "
                      "50 million)")
    assert time.monotonic() - started < 2
    with pytest.raises(ScanUnreadable, match="too large"):
        page_images(bomb, "bomb.png")
    # Under Pillow's own limit but over ours: refused with the size as declared.
    header = struct.pack(">IIBBBBB", 12_000, 9_000, 8, 0, 0, 0, 0)
    wide = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + png_chunk(b"IEND", b""))
    assert refusal(wide, "wide.png") == (
        "page 1 is too large to read (12,000 × 9,000 pixels; the limit is 50 million)")


def test_pdf_page_too_large_even_at_low_resolution() -> None:
    data = pdf([["huge"]], size=(14_000, 14_000))
    assert refusal(data, "poster.pdf") == "page 1 is too large to read (194 × 194 inches)"


def test_too_many_pages_and_too_many_bytes() -> None:
    image = text_image(["x"])
    small = ScanLimits(max_pages=2)
    assert "more than 2 pages" in refusal(tiff([image] * 3), "s.tif", limits=small)
    assert "has 3 pages; at most 2" in refusal(pdf([["a"], ["b"], ["c"]]), "s.pdf",
                                               limits=small)
    reason = refusal(encode(image, "PNG"), "s.png", limits=ScanLimits(max_bytes=100))
    assert reason.startswith("s.png is too large to read")


def test_a_page_that_takes_too_long() -> None:
    data = encode(text_image(LETTER_LINES), "PNG")
    reason = refusal(data, "slow.png", limits=ScanLimits(page_timeout_s=0.001))
    assert reason == "page 1 took longer than 0.001 s"


def test_cancel_between_pages() -> None:
    pages = [text_image([f"Page {n} of the letter"]) for n in range(3)]
    asked: list[int] = []
    done: list[int] = []

    def cancel() -> bool:
        asked.append(1)
        return len(asked) > 1  # the first page is read, then the user cancels

    with pytest.raises(ScanCancelled) as caught:
        ocr_scan(tiff(pages), "s.tif", languages=ENG, cancel=cancel,
                 progress=lambda n, total: done.append(n))
    assert isinstance(caught.value, ScanUnreadable)
    assert done == [0, 1]


def test_missing_tesseract_and_poppler_say_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no programs at all
    png = encode(text_image(LETTER_LINES), "PNG")
    assert refusal(png, "a.png") == "tesseract is not installed (tesseract): run bash .ci/setup"
    assert refusal(pdf([["x"]]), "a.pdf") == (
        "pdfinfo is not installed (poppler-utils): run bash .ci/setup")


def test_missing_or_odd_language() -> None:
    png = encode(text_image(LETTER_LINES), "PNG")
    assert refusal(png, "a.png", languages=("xyz",)) == (
        "tesseract has no 'xyz' language data: run bash .ci/setup")
    assert "unknown OCR language" in refusal(png, "a.png", languages=("eng;rm -rf",))
    assert "unknown OCR language" in refusal(png, "a.png", languages=())


# ---------------------------------------------------------------- pictures ----

def test_page_images_of_a_pdf_and_a_tiff() -> None:
    shots = page_images(pdf([["one"], ["two"]], size=(612, 792)), "s.pdf", max_width=400)
    assert len(shots) == 2
    for shot in shots:
        with Image.open(io.BytesIO(shot)) as image:
            assert image.format == "PNG" and image.width == 400
            assert 510 <= image.height <= 520
    frames = page_images(tiff([text_image(["a"], width=1600)] * 3), "s.tif", max_width=800)
    assert len(frames) == 3
    with Image.open(io.BytesIO(frames[0])) as image:
        assert image.size == (800, 54)


def test_page_images_refuse_what_ocr_refuses() -> None:
    with pytest.raises(ScanUnreadable, match="not a PDF or image"):
        page_images(b"hello", "x.png")
    with pytest.raises(ScanUnreadable, match="empty"):
        page_images(b"", "x.png")


# ---------------------------------------------------------------- fuzz ----

SEEDS = {
    "png": encode(text_image(["Delete my data"], width=420), "PNG"),
    "jpeg": encode(text_image(["Delete my data"], width=420), "JPEG"),
    "tiff": tiff([text_image(["Delete my data"], width=420)] * 2),
    "pdf": pdf([["Delete my data"]], size=(160, 40)),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_damaged_files_raise_only_scan_unreadable(kind: str, data: st.DataObject) -> None:
    raw = bytearray(SEEDS[kind])
    edits = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)),
                               min_size=1, max_size=8))
    for position, value in edits:
        raw[position] = value
    if data.draw(st.booleans()):
        del raw[data.draw(st.integers(8, len(raw))):]
    try:
        scan = ocr_scan(bytes(raw), f"fuzz.{kind}", languages=ENG,
                        limits=ScanLimits(page_timeout_s=20))
    except ScanUnreadable as refused:
        assert refused.reason
    else:
        assert scan.page_count >= 1
