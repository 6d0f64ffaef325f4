"""Demo scans of postal letters, made from scratch (every person in them is fictitious).

``python -m caseapp.demo_samples [FOLDER]`` writes, into ``resources/demo/`` by default:

- ``scanned_letter.png``: a California resident asks, by post, that his personal
  information be deleted (name, address, date, a VIN, an email and a phone number);
  one page, 200 dpi grayscale, slightly rotated, with paper tone, fold lines and noise.
- ``carta_padre.tif``: a mother writes in Spanish about her 10-year-old son's data;
  two pages in one TIFF, 300 dpi black and white (CCITT group 4), as a fax or an old
  desk scanner makes them.

The letters are laid out with ReportLab, rendered by ``pdftoppm`` and then made to look
scanned with Pillow. The output is the same on every run (fixed seeds, invariant PDF).
The same functions serve the tests, which make letters of their own.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer

from caseapp.resources import resources_dir

FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"),  # Debian: fonts-dejavu-core
    Path("/usr/share/fonts/TTF/DejaVuSerif.ttf"),
)
FONT = "DemoSerif"

RECIPIENT = ("Customer Relations and Services", "PO Box 1227", "Westwood, NJ 07675-1227")


@dataclass(frozen=True)
class Letter:
    """A postal letter as its writer laid it out: sender block, date, recipient, body."""

    sender: tuple[str, ...]
    """Name, street, "City, ST ZIP" (and maybe email or phone lines)."""
    date_line: str
    salutation: str
    paragraphs: tuple[str, ...]
    """The body; a paragraph that is exactly "\\f" starts a new page."""
    closing: str
    signature: str
    recipient: tuple[str, ...] = RECIPIENT
    subject: str = ""
    extra: tuple[str, ...] = field(default=())
    """Lines under the signature name (phone, email)."""


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        for path in FONT_FILES:
            if path.exists():
                pdfmetrics.registerFont(TTFont(FONT, str(path)))
                break
        else:
            return "Times-Roman"  # a standard font; pdftoppm substitutes one of its own
    return FONT


class _Signature(Flowable):  # type: ignore[misc]
    """A pen stroke above the typed name: loops drawn with Bézier curves."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed
        self.width = 2.2 * inch
        self.height = 0.45 * inch

    def draw(self) -> None:
        rng = random.Random(self.seed)
        canvas = self.canv
        canvas.setStrokeGray(0.15)
        canvas.setLineWidth(1.1)
        path = canvas.beginPath()
        x, y = 4.0, 8.0
        path.moveTo(x, y)
        for _ in range(7):
            nx = x + rng.uniform(12, 24)
            path.curveTo(x + 4, y + rng.uniform(14, 26), nx - 6, rng.uniform(-4, 6),
                         nx, rng.uniform(4, 12))
            x = nx
        canvas.drawPath(path, stroke=1, fill=0)


def letter_pdf(letter: Letter, *, seed: int = 1) -> bytes:
    """The letter as a PDF (US Letter), typed in a serif font, with a pen signature."""
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=11.5, leading=15.5, spaceAfter=9)
    block = ParagraphStyle("block", parent=body, spaceAfter=0)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=LETTER, leftMargin=1.1 * inch,
                            rightMargin=1.1 * inch, topMargin=0.9 * inch,
                            bottomMargin=0.9 * inch, invariant=1, title="Letter")
    story: list[Flowable] = [Paragraph(_escape(line), block) for line in letter.sender]
    story += [Spacer(1, 16), Paragraph(_escape(letter.date_line), block), Spacer(1, 16)]
    story += [Paragraph(_escape(line), block) for line in letter.recipient]
    story.append(Spacer(1, 16))
    if letter.subject:
        story.append(Paragraph(_escape(letter.subject), body))
    story.append(Paragraph(_escape(letter.salutation), body))
    for paragraph in letter.paragraphs:
        story.append(PageBreak() if paragraph == "\f" else Paragraph(_escape(paragraph), body))
    story += [Spacer(1, 4), Paragraph(_escape(letter.closing), block), _Signature(seed)]
    story += [Paragraph(_escape(line), block) for line in (letter.signature, *letter.extra)]
    doc.build(story)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pdf_pages_gray(pdf: bytes, dpi: int) -> list[Image.Image]:
    """The PDF's pages rendered by pdftoppm as 8-bit grayscale images."""
    with tempfile.TemporaryDirectory(prefix="caseapp-demo-") as tmp:
        source = Path(tmp) / "letter.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(source),
                        str(Path(tmp) / "page")], check=True, timeout=120)
        pages = []
        for png in sorted(Path(tmp).glob("page-*.png")):
            with Image.open(png) as image:
                pages.append(image.convert("L"))
        return pages


def scan_look(page: Image.Image, *, seed: int, angle: float, noise: float = 7.0,
              folds: bool = True) -> Image.Image:
    """Make a clean rendered page look like a desk scan of a folded letter.

    Slight rotation, a paper tone that is not quite white and darkens towards one edge,
    soft ink, two fold lines (a letter folded in three for its envelope), gaussian
    sensor noise and a few specks of dust.
    """
    rng = random.Random(seed)
    width, height = page.size
    ink = page.filter(ImageFilter.GaussianBlur(0.7))
    # Paper: a light gray that darkens a little towards the left edge (scanner lid shadow).
    paper = Image.linear_gradient("L").rotate(90, expand=True).resize((width, height))
    paper = paper.point(lambda v: 236 + int(v * 10 / 255))
    if folds:
        draw = ImageDraw.Draw(paper)
        for third in (1, 2):
            y = height * third // 3 + rng.randint(-20, 20)
            draw.line([(0, y), (width, y + rng.randint(-6, 6))], fill=214, width=2)
            draw.line([(0, y + 2), (width, y + 2)], fill=244, width=1)
    scanned = ImageChops.multiply(ink, paper)
    scanned = scanned.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False,
                             fillcolor=40)  # the dark scanner lid beyond the paper
    grain = Image.effect_noise((width, height), noise)  # centred on 128
    scanned = ImageChops.add(scanned, grain, scale=1.0, offset=-128)
    draw = ImageDraw.Draw(scanned)
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.choice((1, 1, 1, 2, 3))
        draw.ellipse([x, y, x + radius, y + radius], fill=rng.randint(60, 150))
    return scanned


def _save_png(image: Image.Image, target: Path) -> None:
    # 16 evenly spaced gray levels in a 4-bit palette PNG: what keeps a noisy scan small.
    levels = image.point(lambda v: round(v / 17)).convert("P")
    levels.putpalette([value for level in range(16) for value in (level * 17,) * 3])
    levels.save(target, format="PNG", bits=4, optimize=True, dpi=(200, 200))


def _save_tiff(pages: Sequence[Image.Image], target: Path) -> None:
    bilevel = [page.point(lambda v: 255 if v > 150 else 0).convert("1") for page in pages]
    bilevel[0].save(target, format="TIFF", save_all=True, append_images=bilevel[1:],
                    compression="group4", dpi=(300, 300))


# ---------------------------------------------------------------- the two samples ----

def deletion_letter() -> Letter:
    """A Californian asks, by post, that his personal information be deleted."""
    return Letter(
        sender=("Daniel R. Whitfield", "2417 Alder Creek Road", "Sacramento, CA 95822"),
        date_line="March 3, 2026",
        subject="Re: Request to delete my personal information",
        salutation="Dear Customer Relations team:",
        paragraphs=(
            "I am writing to exercise my right to delete under the California Consumer "
            "Privacy Act. Please delete all of my personal information that your company "
            "and your dealers hold about me, including my name, home address, telephone "
            "number, email address, service history and any marketing profile.",
            "I bought a certified pre-owned vehicle in 2021 and sold it last year. The "
            "vehicle identification number was 7KMWL41E4RA102938. I no longer wish to "
            "receive mail, calls or offers of any kind.",
            "You can reach me at the address above, by phone at (916) 555-0143 or by email "
            "at d.whitfield@example.net. Please confirm in writing once my information "
            "has been deleted.",
        ),
        closing="Sincerely,",
        signature="Daniel R. Whitfield",
    )


def parent_letter() -> Letter:
    """A mother writes in Spanish about her 10-year-old son's data; two pages."""
    return Letter(
        sender=("Rosa Elena Castillo Méndez", "1840 Calle Olivo, Apt 3",
                "Chula Vista, CA 91910"),
        date_line="12 de febrero de 2026",
        subject="Asunto: datos personales de mi hijo menor de edad",
        salutation="Estimados señores:",
        paragraphs=(
            "Les escribo como madre de Mateo Castillo, mi hijo de 10 años. Hace unas semanas "
            "descubrí que Mateo se registró en el club infantil de su página web y en el "
            "concurso de dibujo de la exposición de autos, donde dio su nombre completo, su "
            "fecha de nacimiento, nuestra dirección y una fotografía.",
            "Nunca di mi consentimiento para que recopilaran esos datos. Mi hijo es menor de "
            "13 años y, según tengo entendido, ustedes necesitan el permiso de los padres.",
            "\f",
            "Por lo tanto, les pido que eliminen toda la información personal de mi hijo de "
            "sus sistemas y de los de sus concesionarios, y que no le envíen más correos ni "
            "publicidad.",
            "Les agradeceré que me confirmen por escrito a la dirección de arriba cuando "
            "hayan borrado sus datos. También pueden llamarme al (619) 555-0188.",
        ),
        closing="Atentamente,",
        signature="Rosa Elena Castillo Méndez",
    )


def make_scanned_letter(target: Path, dpi: int = 200) -> None:
    pdf = letter_pdf(deletion_letter(), seed=3)
    [page] = pdf_pages_gray(pdf, dpi)
    _save_png(scan_look(page, seed=11, angle=0.8), target)


def make_carta_padre(target: Path, dpi: int = 300) -> None:
    pdf = letter_pdf(parent_letter(), seed=5)
    pages = pdf_pages_gray(pdf, dpi)
    looks = [scan_look(page, seed=20 + n, angle=(-0.6, 0.4)[n % 2], noise=5.0, folds=False)
             for n, page in enumerate(pages)]
    _save_tiff(looks, target)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0]) if args else resources_dir() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    make_scanned_letter(folder / "scanned_letter.png")
    make_carta_padre(folder / "carta_padre.tif")
    for name in ("scanned_letter.png", "carta_padre.tif"):
        path = folder / name
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

