"""Reading the fields of a postal letter from OCR text; the demo scans read end to end."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseapp.intake.letter import STATES, LetterFields, read_letter, state_of_zip
from caseapp.intake.ocr import ocr_scan
from caseapp.resources import resources_dir

RECIPIENT = "Customer Relations and Services\nPO Box 1227\nWestwood, NJ 07675-1227"

LETTER = f"""Daniel R. Whitfield
2417 Alder Creek Road
Sacramento, CA 95822

March 3, 2026

{RECIPIENT}

Re: Request to delete my personal information

Dear Customer Relations team:

Please delete all of my personal information. I bought the car on June 5, 2019.
You can reach me by phone at (916) 555-0143 or at d.whitfield@example.net.

Sincerely,

Daniel R. Whitfield
"""


def test_a_typical_letter() -> None:
    fields = read_letter(LETTER)
    assert isinstance(fields, LetterFields)
    assert fields.sender_name == "Daniel R. Whitfield"
    assert fields.postal_address == "2417 Alder Creek Road\nSacramento, CA 95822"
    assert (fields.city, fields.state, fields.postal_code) == ("Sacramento", "CA", "95822")
    assert fields.date_written == date(2026, 3, 3)
    assert fields.email == "d.whitfield@example.net"
    assert fields.phone == "+19165550143"
    assert fields.proposal.request_types == ("delete",)
    assert fields.proposal.jurisdiction == "CA"


def test_ocr_noise_stray_marks_blank_lines_and_a_broken_zip_line() -> None:
    noisy = """| Daniel R. Whitfield _

2417 Alder Creek Road.
Sacramento, CA
95822

— March 3,2026 .

Customer Relations and Services :
PO Box 1227
Westwood, NJ 07675-1227

Dear Customer Relations team:
Please delete my personal data.

Sincerely,

KIT [rE
Daniel R. Whitfield
"""
    fields = read_letter(noisy)
    assert fields.sender_name == "Daniel R. Whitfield"
    assert fields.postal_code == "95822" and fields.state == "CA"
    assert fields.postal_address == "2417 Alder Creek Road.\nSacramento, CA 95822"
    assert fields.date_written == date(2026, 3, 3)


def test_the_company_address_is_never_the_sender() -> None:
    # Only the recipient block on top; the writer's address is under the signature.
    text = f"""{RECIPIENT}

March 3, 2026

To whom it may concern,
please remove my information from your marketing lists.

Regards,
Ana Lucía Torres
88 Harbor View Dr, Apt 12
Portland, OR 97201
"""
    fields = read_letter(text)
    assert fields.sender_name == "Ana Lucía Torres"
    assert fields.postal_address == "88 Harbor View Dr, Apt 12\nPortland, OR 97201"
    assert (fields.state, fields.postal_code) == ("OR", "97201")
    assert fields.date_written == date(2026, 3, 3)


def test_a_letter_without_the_senders_address() -> None:
    text = f"{RECIPIENT}\n\nDear Sir,\nI want a copy of my data.\n\nThanks,\nJo Park\n"
    fields = read_letter(text)
    assert fields.sender_name == "Jo Park"
    assert fields.postal_address is None and fields.postal_code is None
    assert fields.state is None and fields.date_written is None


def test_recipient_first_and_state_written_out() -> None:
    text = f"""{RECIPIENT}

Mary-Kate O'Neil
1200 W. Peachtree St NW, Unit 5
Atlanta, Georgia 30309

04/05/2026

Dear Madam or Sir, please stop selling my data.
"""
    fields = read_letter(text)
    assert fields.sender_name == "Mary-Kate O'Neil"
    assert (fields.city, fields.state, fields.postal_code) == ("Atlanta", "GA", "30309")
    assert fields.date_written == date(2026, 4, 5)  # English: month first


def test_misread_state_is_told_by_the_zip_code() -> None:
    text = "Lee Wong\n5 Elm St\nFresno, C4 93650\n\nDear team,\nDelete my data."
    assert read_letter(text).state == "CA"
    assert state_of_zip("93650") == "CA"
    assert state_of_zip("07675-1227") == "NJ"
    assert state_of_zip("00000") is None and state_of_zip("abc") is None


@pytest.mark.parametrize(("line", "expected"), [
    ("March 3, 2026", date(2026, 3, 3)),
    ("Mar. 3rd, 2026", date(2026, 3, 3)),
    ("Tuesday, March 3, 2026", date(2026, 3, 3)),
    ("3 March 2026", date(2026, 3, 3)),
    ("3/3/2026", date(2026, 3, 3)),
    ("03-04-26", date(2026, 3, 4)),
    ("2026-03-04", date(2026, 3, 4)),
    ("13/3/2026", date(2026, 3, 13)),
    ("3 de marzo de 2026", date(2026, 3, 3)),
    ("martes, 3 de marzo del 2026", date(2026, 3, 3)),
    ("Chula Vista, 12 de febrero de 2026", date(2026, 2, 12)),
    ("1º de septiembre de 2025", date(2025, 9, 1)),
    ("marzo 3, 2026", date(2026, 3, 3)),
])
def test_date_formats(line: str, expected: date) -> None:
    text = f"Jane Doe\n1 Main St\nFresno, CA 93650\n\n{line}\n\nDear team,\nDelete my data."
    assert read_letter(text).date_written == expected


def test_numeric_date_is_day_first_in_a_spanish_letter() -> None:
    text = ("Rosa Díaz\n10 Calle Sol\nLaredo, TX 78040\n\n4/3/2026\n\nEstimados señores:\n"
            "Les pido que borren mis datos personales de sus sistemas, por favor.")
    fields = read_letter(text)
    assert fields.proposal.language == "es"
    assert fields.date_written == date(2026, 3, 4)


def test_a_date_in_the_body_is_not_the_date_written() -> None:
    text = "Jane Doe\n1 Main St\nFresno, CA 93650\n\nDear team,\nI bought it on May 2, 2019."
    assert read_letter(text).date_written is None


# ---------------------------------------------------------------- properties ----

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600) | st.lists(
    st.sampled_from(["Jane Doe", "1 Main St", "Fresno, CA 93650", "", "Dear Sir,",
                     "Sincerely,", "March 3, 2026", "3/3/26", "PO Box 1227", "|||", "\f",
                     "Westwood, NJ 07675-1227", "31/02/2026", "de marzo de", "(916) 555",
                     "@", "Customer Relations", "Z" * 80, "0" * 40]),
    max_size=30).map("\n".join))
def test_read_letter_never_raises(text: str) -> None:
    fields = read_letter(text)
    assert fields.proposal is not None
    if fields.postal_code is not None:
        assert not fields.postal_code.startswith("07675")


FIRST = ["James", "María", "Daniel", "Aiyana", "Chloé", "Nguyen", "Rosa Elena", "Olu",
         "Siobhan", "José Luis", "Priya", "Mateo", "Ingrid", "Darnell", "Yuki"]
LAST = ["Whitfield", "Castillo Méndez", "O'Brien", "García-López", "Nakamura", "Okafor",
        "Lindqvist", "de la Cruz", "McAllister", "Tran", "Abernathy", "Santos"]
STREETS = ["Alder Creek Road", "Main Street", "Calle Olivo", "W. 3rd Ave", "Harbor View Dr",
           "Maple Ln", "Sunset Blvd", "Elm St", "Camino Real", "Old Mill Way"]
UNITS = ["", ", Apt 3", ", Unit 12B", ", Suite 200"]
CITIES = ["Sacramento", "Fresno", "Chula Vista", "Austin", "Salt Lake City", "Denver",
          "Richmond", "Hartford", "Portland", "San José", "St. Paul", "Winston-Salem"]
ZIP_PREFIX = {state: [p for p in range(1000) if state_of_zip(f"{p:03d}00") == state]
              for state in STATES}
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]
ES_MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre"]
BODY_EN = ("Dear Sir or Madam:\n\nPlease delete all of my personal information from your "
           "records. I no longer own the car.\n\nSincerely,\n\n{name}\n")
BODY_ES = ("Estimados señores:\n\nLes pido que eliminen mis datos personales de sus "
           "sistemas, por favor.\n\nAtentamente,\n\n{name}\n")


def date_line(day: date, style: int, spanish: bool) -> str:
    if spanish:
        return [f"{day.day} de {ES_MONTHS[day.month - 1]} de {day.year}",
                f"{day.day:02d}/{day.month:02d}/{day.year}"][style % 2]
    return [f"{EN_MONTHS[day.month - 1]} {day.day}, {day.year}",
            f"{day.month}/{day.day}/{day.year}",
            f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}",
            day.isoformat()][style % 4]


@st.composite
def letters(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    name = f"{draw(st.sampled_from(FIRST))} {draw(st.sampled_from(LAST))}"
    state = draw(st.sampled_from(sorted(s for s, p in ZIP_PREFIX.items() if p)))
    zip_code = f"{draw(st.sampled_from(ZIP_PREFIX[state])):03d}{draw(st.integers(0, 99)):02d}"
    if draw(st.booleans()):
        zip_code += f"-{draw(st.integers(0, 9999)):04d}"
    street = (f"{draw(st.integers(1, 99999))} {draw(st.sampled_from(STREETS))}"
              f"{draw(st.sampled_from(UNITS))}")
    city = draw(st.sampled_from(CITIES))
    written = draw(st.dates(date(1990, 1, 1), date(2035, 12, 31)))
    spanish = draw(st.booleans())
    phone = draw(st.sampled_from(["", "(916) 555-0143", "303-555-0178", "212 555 0190"]))
    email = draw(st.sampled_from(["", "reader@example.com", "j.d+cars@mail.example.org"]))
    noisy = draw(st.booleans())
    sender = [name, street, f"{city}, {state} {zip_code}"]
    if noisy:  # stray marks at the ends of lines, and a blank line inside the block
        sender = [f"| {name}", "", f"{street} _", f"{city}, {state} {zip_code} ."]
    contact = "\n".join(x for x in (f"Tel. {phone}" if phone else "", email) if x)
    body = (BODY_ES if spanish else BODY_EN).format(name=name)
    text = "\n".join([*sender, "", date_line(written, draw(st.integers(0, 3)), spanish), "",
                      RECIPIENT, "", body, contact])
    expected = {"sender_name": name, "postal_code": zip_code, "state": state, "city": city,
                "date_written": written,
                "postal_address": f"{street}\n{city}, {state} {zip_code}" if not noisy else None,
                "phone": {"": None, "(916) 555-0143": "+19165550143",
                          "303-555-0178": "+13035550178",
                          "212 555 0190": "+12125550190"}[phone],
                "email": email or None}
    return text, expected


@settings(max_examples=200, deadline=None)
@given(letters())
def test_generated_letters_round_trip(letter: tuple[str, dict[str, object]]) -> None:
    text, expected = letter
    fields = read_letter(text)
    for key, value in expected.items():
        if key == "postal_address" and value is None:
            continue
        assert getattr(fields, key) == value, key
    assert "delete" in fields.proposal.request_types


# ---------------------------------------------------------------- demo scans ----

def test_demo_scanned_letter_reads_end_to_end() -> None:
    path = resources_dir() / "demo" / "scanned_letter.png"
    assert path.stat().st_size < 1_500_000
    scan = ocr_scan(path.read_bytes(), path.name)
    fields = read_letter(scan.text)
    assert fields.sender_name == "Daniel R. Whitfield"
    assert (fields.state, fields.postal_code) == ("CA", "95822")
    assert fields.date_written == date(2026, 3, 3)
    assert fields.email == "d.whitfield@example.net"
    assert fields.phone == "+19165550143"
    # "I no longer wish to receive mail, calls or offers of any kind": a marketing opt-out.
    assert fields.proposal.request_types == ("delete", "opt_out_marketing")
    assert fields.proposal.vins == ("7KMWL41E4RA102938",)
    assert fields.proposal.jurisdiction == "CA"


def test_demo_spanish_parent_letter_reads_end_to_end() -> None:
    path = resources_dir() / "demo" / "carta_padre.tif"
    scan = ocr_scan(path.read_bytes(), path.name)
    assert scan.page_count == 2
    fields = read_letter(scan.text)
    assert fields.sender_name == "Rosa Elena Castillo Méndez"
    assert (fields.city, fields.state, fields.postal_code) == ("Chula Vista", "CA", "91910")
    assert fields.date_written == date(2026, 2, 12)
    assert fields.phone == "+16195550188"
    proposal = fields.proposal
    assert proposal.language == "es"
    assert "delete" in proposal.request_types
    assert proposal.is_child and proposal.child_age == 10
