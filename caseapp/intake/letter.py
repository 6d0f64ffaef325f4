"""Reading the fields of a postal letter from its OCR text.

:func:`read_letter` takes the text of a scanned letter (:func:`caseapp.intake.ocr.ocr_scan`)
and proposes who wrote it, from where, when, how to reach them, and what they ask
(the classifier's :class:`~caseapp.intake.classify.Proposal`). Staff check every field
against the picture of the letter; nothing here is final.

A typical letter, as the desk receives them::

    Jane Q. Doe                          <- sender block: name, street, "City, ST ZIP"
    123 Main Street, Apt 4
    Fresno, CA 93650

    March 3, 2026                        <- date written (or "3 de marzo de 2026")

    Customer Relations and Services      <- recipient block: the company's own address,
    PO Box 1227                             never taken for the sender's
    Westwood, NJ 07675-1227

    Dear Sir or Madam:                   <- salutation
    ... body ...
    Sincerely,                           <- sign-off, then the signed name
    Jane Q. Doe

OCR noise is expected: stray characters at line ends, blank lines inside blocks, a
``City, ST`` line whose ZIP slipped to the next line, a squiggle read as letters. The
function never raises on any text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import phonenumbers

from caseapp.geography import US_STATES
from caseapp.intake.classify import MAX_TEXT, Proposal, classify, default_rules, fold

__all__ = ["OWN_POSTAL_CODES", "LetterFields", "read_letter", "state_of_zip"]

OWN_POSTAL_CODES = ("07675",)
"""ZIP codes of the company's own addresses (the PO box letters are sent to)."""


@dataclass(frozen=True)
class LetterFields:
    """What a letter tells; every field is a proposal for staff to confirm."""

    sender_name: str | None
    postal_address: str | None
    """The sender's address as lines: street line(s), then "City, ST ZIP"."""
    city: str | None
    state: str | None
    """Two-letter USPS code."""
    postal_code: str | None
    """"12345" or "12345-6789"."""
    date_written: date | None
    email: str | None
    phone: str | None
    """E.164, e.g. +19165550143."""
    proposal: Proposal


# ---------------------------------------------------------------- geography ----

STATES = US_STATES
_STATE_BY_NAME = {fold(name): code for code, name in STATES.items()}

# First three digits of a ZIP code → state (USPS sectional centers; the few exceptions
# inside a range, such as 201 in Virginia or 885 in Texas, are listed on their own).
_ZIP_RANGES = """
005 NY 006-009 PR 010-027 MA 028-029 RI 030-038 NH 039-049 ME 050-054 VT 055 MA 056-059 VT
060-069 CT 070-089 NJ 100-149 NY 150-196 PA 197-199 DE 200 DC 201 VA 202-205 DC 206-219 MD
220-246 VA 247-268 WV 270-289 NC 290-299 SC 300-319 GA 320-339 FL 341-349 FL 350-369 AL
370-385 TN 386-397 MS 398-399 GA 400-427 KY 430-459 OH 460-479 IN 480-499 MI 500-528 IA
530-549 WI 550-567 MN 569 DC 570-577 SD 580-588 ND 590-599 MT 600-629 IL 630-658 MO
660-679 KS 680-693 NE 700-715 LA 716-729 AR 730-732 OK 733 TX 734-749 OK 750-799 TX
800-816 CO 820-831 WY 832-838 ID 840-847 UT 850-865 AZ 870-884 NM 885 TX 889-898 NV
900-961 CA 967-968 HI 969 GU 970-979 OR 980-994 WA 995-999 AK
"""


def _zip_table() -> dict[int, str]:
    table: dict[int, str] = {}
    tokens = _ZIP_RANGES.split()
    for span, state in zip(tokens[::2], tokens[1::2], strict=True):
        low, _, high = span.partition("-")
        for prefix in range(int(low), int(high or low) + 1):
            table[prefix] = state
    return table


_ZIP_STATE = _zip_table()


def state_of_zip(zip_code: str) -> str | None:
    """The state a US ZIP code belongs to, by its first three digits (or None)."""
    if not re.fullmatch(r"\d{5}(?:-\d{4})?", zip_code):
        return None
    return _ZIP_STATE.get(int(zip_code[:3]))


# ---------------------------------------------------------------- lines ----

_EDGE_NOISE = re.compile(  # a "(" or ")" and a final "." are kept: "(916) 555-0143", "Jr."
    r"^[\s|_~*•·»«'\"`^:;,.!¡¿?\\/\[\]{}<>=+-]+|[\s|_~*•·»«'\"`^:;,!¡¿?\\/\[\]{}<>=+-]+$")


def _clean(line: str) -> str:
    """A line without OCR's stray marks at either end, its spaces collapsed."""
    line = re.sub(r"\s+", " ", line).strip()
    line = _EDGE_NOISE.sub("", line)
    return re.sub(r"\s+\.$", "", line).strip()  # a lone speck read as a full stop


def _lines(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text[:MAX_TEXT])
    text = text.replace("\f", "\n").replace("’", "'").replace("‘", "'")
    raw = text.splitlines()
    lines = []
    for line in raw:
        cleaned = _clean(line)
        lines.append(cleaned if re.search(r"[^\W_]", cleaned) else "")
    return _join_broken_city_lines(lines)


def _join_broken_city_lines(lines: list[str]) -> list[str]:
    """"Fresno, CA" then "93650" on the next line (OCR broke it): one line again."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if (re.fullmatch(r"[^\d]{2,40}[, ]\s*[A-Za-z]{2}\.?", line)
                and re.fullmatch(r"\d{5}(?:\s*-\s*\d{4})?", following)):
            out += [f"{line} {following}", ""]
            index += 2
            continue
        out.append(line)
        index += 1
    return out


# ---------------------------------------------------------------- address blocks ----

_STATE_NAMES = "|".join(sorted((re.escape(n) for n in STATES.values()), key=len, reverse=True))
_CITY_LINE = re.compile(
    r"^(?P<city>[^\W\d_][\w .'-]{0,40}?)\s*[,.]?\s+"
    rf"(?P<state>[A-Za-z]{{2}}|{_STATE_NAMES})\.?\s*[,.]?\s*"
    r"(?P<zip>[0-9OoIl]{5})(?:\s*[-–—]\s*(?P<plus4>\d{4}))?"
    r"(?:\s+(?:USA|U\.S\.A\.?|EE\.? ?UU\.?))?\s*[.,]?$",
    re.I)
_STREET_SUFFIX = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|way|court|ct|place|pl|"
    r"terrace|ter|circle|cir|parkway|pkwy|highway|hwy|trail|trl|square|sq|loop|row|run|"
    r"calle|avenida|camino|paseo|via")
_STREET_LINE = re.compile(
    r"^(?:\d+[A-Za-z]?(?:-\d+)?\s+\S.*"
    r"|p\.?\s?o\.?\s*box\s*\d+.*|post office box\s*\d+.*|apartado(?: postal)?\s*\d+.*"
    r"|(?:apt|apartment|suite|ste|unit|bldg|building|floor|fl|depto|departamento|#)\.?\s*#?\s*\w+.*"
    rf"|.*\b(?:{_STREET_SUFFIX})\.?(?:\s+(?:#|apt|suite|unit)\.?\s*\w+)?)$",
    re.I)
_ORGANIZATION = re.compile(
    r"\b(?:customer|relations|services?|department|dept|office|team|privacy|attn|attention|"
    r"inc|llc|ltd|corp|corporation|company|co|group|motors?|automotive|dealer(?:ship)?|"
    r"north america|usa|legal|compliance|center|centre|headquarters|hq|division|"
    r"departamento|atencion|servicio|clientes|privacidad)\b", re.I)


@dataclass(frozen=True)
class _Block:
    head: tuple[str, ...]
    """Lines above the street: a name, or an organization and an "Attn" line."""
    streets: tuple[str, ...]
    city_line: str
    city: str
    state: str | None
    zip: str
    first: int
    last: int
    """Line indexes of the block, inclusive."""


def _city_line(line: str) -> tuple[str, str | None, str] | None:
    """(city, state code or None, ZIP) when the line is "City, ST 12345"."""
    if len(line) > 70:
        return None
    match = _CITY_LINE.match(line)
    if not match:
        return None
    digits = match.group("zip").translate(str.maketrans("OoIl", "0011"))
    if sum(c.isdigit() for c in match.group("zip")) < 3:
        return None
    zip_code = digits + (f"-{match.group('plus4')}" if match.group("plus4") else "")
    token = match.group("state")
    state: str | None = token.upper() if len(token) == 2 else _STATE_BY_NAME.get(fold(token))
    if state not in STATES:  # "C4", "GX": misread; the ZIP code still tells the state
        state = state_of_zip(zip_code)
    city = match.group("city").strip(" ,.'-")
    if not city or (_ORGANIZATION.search(city) and len(city.split()) > 3):
        return None
    return city, state, zip_code


def _address_blocks(lines: list[str]) -> list[_Block]:
    blocks = []
    for index, line in enumerate(lines):
        parsed = _city_line(line) if line else None
        if parsed is None:
            continue
        city, state, zip_code = parsed
        streets: list[str] = []
        head: list[str] = []
        back = index - 1
        blanks = 0
        while back >= 0 and len(streets) + len(head) < 5:
            above = lines[back]
            if not above:
                blanks += 1
                if blanks > 1 or not streets:
                    break
                back -= 1
                continue
            if _city_line(above) or _date_in(above) or _is_salutation(above):
                break
            if not head and _STREET_LINE.match(above) and len(above) <= 60:
                streets.insert(0, above)
            elif len(above) <= 60 and len(head) < 2:
                head.insert(0, above)
            else:
                break
            back -= 1
        blocks.append(_Block(head=tuple(head), streets=tuple(streets), city_line=line,
                             city=city, state=state, zip=zip_code, first=back + 1, last=index))
    return blocks


def _is_recipient(block: _Block, own_postal_codes: Iterable[str]) -> bool:
    if any(block.zip.startswith(code) for code in own_postal_codes):
        return True
    return any(_ORGANIZATION.search(line) and not _as_name(line) for line in block.head)


# ---------------------------------------------------------------- names ----

def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


_PARTICLES = {"de", "del", "la", "las", "los", "y", "da", "das", "do", "dos", "van", "von",
              "der", "den", "di", "du", "le", "st", "st."}
_HONORIFICS = re.compile(
    r"^(?:mr|mrs|ms|miss|mx|dr|prof|sr|sra|srta|don|dona|doña)\.?\s+", re.I)
_NAME_WORD = re.compile(
    r"^(?:(?:Mc|Mac|O'|D')?[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ']+(?:-[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ']+)*"
    r"|[A-ZÀ-ÖØ-Þ]{2,}(?:['-][A-ZÀ-ÖØ-Þ]{2,})*"
    r"|[A-ZÀ-ÖØ-Þ]\.?"
    r"|(?:Jr|Sr|II|III|IV)\.?)$")
_NOT_NAME_WORDS = frozenset(fold(w) for w in (
    "dear", "to", "whom", "it", "may", "concern", "sincerely", "regards", "thank", "thanks",
    "yours", "truly", "re", "subject", "asunto", "ref", "customer", "relations", "services",
    "service", "privacy", "request", "box", "street", "road", "avenue", "calle", "apt",
    "suite", "estimados", "estimado", "estimada", "senores", "señores", "atentamente",
    "the", "and", "of", "for", "my", "your", "team", "sir", "madam", "hello", "hi",
    "attn", "attention", "delete", "deletion", "information", "data", "personal",
    "january", "february", "march", "april", "june", "july", "august", "september",
    "october", "november", "december", "enero", "febrero", "marzo", "abril", "mayo",
    "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    "cordialmente", "saludos", "gracias", "please", "dealer", "vin",
))


def _as_name(line: str) -> str | None:
    """The line as a person's name ("Jane Q. Doe", "María José García-López"), or None."""
    name = _clean(line).strip(" ,;:")
    if not name or len(name) > 60 or any(c.isdigit() for c in name) or "@" in name:
        return None
    name = _HONORIFICS.sub("", name)
    name = re.sub(r"\.$", "", name) if not re.search(r"\b(?:[A-Z]|Jr|Sr)\.$", name) else name
    words = name.split()
    if not 2 <= len(words) <= 6:
        return None
    real = 0
    for word in words:
        if word.lower() in _PARTICLES:
            continue
        if not _NAME_WORD.match(word) or fold(word).strip(".,") in _NOT_NAME_WORDS:
            return None
        if len(word.rstrip(".")) >= 2:
            real += 1
    if real < 2 or words[0].lower() in _PARTICLES or words[-1].lower() in _PARTICLES:
        return None
    if all(w.isupper() for w in words if len(w) > 1):  # SHOUTED: accept, in title case
        name = " ".join(w if len(w.rstrip(".")) == 1 else w.title() for w in words)
    return name


_EXTRA_SIGN_OFFS = {"sincerely yours", "yours faithfully", "respectfully yours",
                    "best wishes", "warm regards", "sinceramente", "respetuosamente",
                    "le saluda atentamente", "les saluda atentamente", "reciban un saludo"}


def _sign_offs() -> frozenset[str]:
    return default_rules().sign_offs | _EXTRA_SIGN_OFFS


def _is_sign_off(line: str) -> bool:
    return fold(line).strip(" ,.!-") in _sign_offs()


_SALUTATION = re.compile(
    r"^(?:dear|to whom|hello|hi|greetings|good (?:morning|afternoon)|ladies and gentlemen|"
    r"estimad[oa]s?|querid[oa]s?|a quien corresponda|muy senor(?:es)?|senor(?:es|a)?|"
    r"sres|distinguid[oa]s?|hola)\b")


def _is_salutation(line: str) -> bool:
    return bool(_SALUTATION.match(fold(line)))


def _signed_name(lines: list[str]) -> str | None:
    """The first name-like line within a few lines after the last sign-off."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index] and _is_sign_off(lines[index]):
            candidates = [line for line in lines[index + 1:index + 6] if line]
            names = [n for n in (_as_name(line) for line in candidates) if n]
            proper = [n for n, line in zip(names, candidates, strict=False)
                      if not line.isupper()]
            return _first(proper or names)
    return None


# ---------------------------------------------------------------- dates ----

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
    "enero": 1, "ene": 1, "febrero": 2, "marzo": 3, "abril": 4, "abr": 4, "mayo": 5,
    "junio": 6, "julio": 7, "agosto": 8, "ago": 8, "septiembre": 9, "setiembre": 9,
    "set": 9, "octubre": 10, "noviembre": 11, "diciembre": 12, "dic": 12,
}
_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d{2})(?!\d)"
_DATE_PATTERNS = (
    # March 3, 2026 · Mar. 3rd 2026 · marzo 3 de 2026
    re.compile(rf"(?<![a-z]){_MONTH}\s*(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?!\d)\s*[,.]?\s*"
               rf"(?:de\s+|del\s+)?{_YEAR}"),
    # 3 de marzo de 2026 · 1o de marzo del 2026 · 3 March 2026 · 3-mar-2026
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})(?:st|nd|rd|th|o)?\s*(?:de\s+|-|/)?\s*{_MONTH}"
               rf"\s*[,.]?\s*(?:de\s+|del\s+|-|/)?\s*{_YEAR}"),
    # 2026-03-03
    re.compile(r"(?<![\d/.-])(?P<year>(?:19|20)\d{2})-(?P<m>\d{1,2})-(?P<day>\d{1,2})(?![\d/.-])"),
    # 3/3/2026 · 03-03-26 · 3.3.2026 (month first in English, day first in Spanish)
    re.compile(r"(?<![\d/.-])(?P<a>\d{1,2})\s?(?P<sep>[/.-])\s?(?P<b>\d{1,2})\s?(?P=sep)\s?"
               r"(?P<y>(?:19|20)\d{2}|\d{2})(?![\d/.-])"),
)


def _date_in(line: str, language: str = "en") -> date | None:
    folded = fold(line)
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(folded):
            parts = match.groupdict()
            try:
                if parts.get("month"):
                    year, month, day = (int(parts["year"]), _MONTHS[parts["month"]],
                                        int(parts["day"]))
                elif parts.get("m"):
                    year, month, day = int(parts["year"]), int(parts["m"]), int(parts["day"])
                else:
                    first, second = int(parts["a"]), int(parts["b"])
                    year = int(parts["y"])
                    if year < 100:
                        year += 2000 if year < 70 else 1900
                    day_first = first > 12 or (language == "es" and second <= 12)
                    month, day = (second, first) if day_first else (first, second)
                return date(year, month, day)
            except (ValueError, KeyError):
                continue
    return None


def _standalone_date(line: str, language: str) -> date | None:
    """The date when the line holds little else: "March 3, 2026", "Fresno, 3 de marzo
    de 2026", "Tuesday, March 3, 2026"."""
    found = _date_in(line, language)
    if found is None or len(line) > 60:
        return None
    words = re.findall(r"[^\W\d_]+", line)
    return found if len(words) <= 6 else None


# ---------------------------------------------------------------- the letter ----

def read_letter(text: str, *,
                own_postal_codes: Iterable[str] = OWN_POSTAL_CODES) -> LetterFields:
    """Propose the fields of a postal letter from its (OCR) text; never raises on text."""
    lines = _lines(text or "")
    own = tuple(own_postal_codes)
    blocks = _address_blocks(lines)
    recipients = [b for b in blocks if _is_recipient(b, own)]
    senders = [b for b in blocks if b not in recipients]
    salutation = next((i for i, line in enumerate(lines) if line and _is_salutation(line)),
                      None)
    # A sender block above the salutation (the letterhead) comes first; then one below
    # (under the signature).
    senders.sort(key=lambda b: (salutation is not None and b.first > salutation, b.first))
    sender = senders[0] if senders else None

    head_name = _first(_as_name(line) for line in sender.head) if sender else None
    name = head_name or _signed_name(lines)
    proposal = classify(subject="", text=text or "", sender_name=name or "")
    if name is None and proposal.names:
        name = proposal.names[0]

    if sender is not None:
        address: str | None = "\n".join((*sender.streets, sender.city_line)) \
            if sender.streets else None
        city: str | None = sender.city
        state: str | None = sender.state
        postal_code: str | None = sender.zip
    else:
        address, city, state, postal_code = _address_from_proposal(proposal, own)

    recipient_lines = {i for b in recipients for i in range(b.first, b.last + 1)}
    outside = "\n".join(line for i, line in enumerate(lines) if i not in recipient_lines)
    email = next((e for e in proposal.emails if e in outside.lower()), None)
    phone = _first_phone(outside)

    return LetterFields(
        sender_name=name,
        postal_address=address,
        city=city,
        state=state,
        postal_code=postal_code,
        date_written=_date_written(lines, salutation, proposal.language),
        email=email,
        phone=phone,
        proposal=proposal,
    )


def _address_from_proposal(proposal: Proposal, own: tuple[str, ...]
                           ) -> tuple[str | None, str | None, str | None, str | None]:
    """Without a sender block: the classifier's inline address, or a lone ZIP code."""
    address = proposal.postal_address
    if address:
        last = address.splitlines()[-1]
        parsed = _city_line(last)
        if parsed and not any(parsed[2].startswith(code) for code in own):
            return address, parsed[0], parsed[1], parsed[2]
    lone = next((z for z in proposal.postal_codes
                 if not any(z.startswith(code) for code in own)), None)
    return None, None, state_of_zip(lone) if lone else None, lone


def _first_phone(text: str) -> str | None:
    """The first phone number, also when OCR broke it over two lines ("(619)" / "555-0188")."""
    joined = re.sub(r"(\(?\d{3}\)?)[ \t]*\n\s*(\d{3}[-. ]?\d{4})\b", r"\1 \2", text)
    try:
        for match in phonenumbers.PhoneNumberMatcher(joined, "US"):
            return phonenumbers.format_number(match.number,
                                              phonenumbers.PhoneNumberFormat.E164)
    except Exception:  # the library on odd input; the phone is only a proposal
        return None
    return None


def _date_written(lines: list[str], salutation: int | None, language: str) -> date | None:
    """The date on its own line above the salutation; else any date up there; else a
    date on its own line under the signature. Dates inside the body are about other
    things (when the car was bought) and are not taken."""
    header = lines[:salutation] if salutation is not None else [x for x in lines if x][:12]
    for line in header:
        found = _standalone_date(line, language) if line else None
        if found:
            return found
    for line in header:
        found = _date_in(line, language) if line else None
        if found:
            return found
    sign_off = next((i for i in range(len(lines) - 1, -1, -1)
                     if lines[i] and _is_sign_off(lines[i])), None)
    if sign_off is not None:
        for line in lines[sign_off + 1:sign_off + 8]:
            found = _standalone_date(line, language) if line else None
            if found:
                return found
    return None
