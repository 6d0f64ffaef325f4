"""Synthetic people and texts for the benchmarks: privacy requests as people write them
(English and some Spanish), the desk's replies, scanned letters as OCR reads them, and
whole mails. Seeded: the same seed gives the same texts.

Names, streets, places and dealers come from the demo customer systems' pools (Faker,
seeded); phone numbers are 555 numbers with real area codes; emails are at example
domains. Filler sentences are drawn from an English word list with a Zipf law, so word
frequencies look like real text: a few words are in most messages, most are rare.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from faker.providers.lorem.en_US import Provider as Lorem

from caseapp.records.demo_systems import AREA_CODES, MODELS, STATES, _pools
from caseapp.records.normalize import fold

DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com",
           "inbox.example.net")
BRAND = "Brand"
PRIVACY_ADDRESS = "privacy@brand.example"


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    area: str
    line: str  # the 4 digits after 555
    street: str
    city: str
    state: str
    zip: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def phone_digits(self) -> str:
        """The 10-digit national number."""
        return f"{self.area}555{self.line}"

    def phone(self, style: int) -> str:
        """The number as people type it (style 0..5)."""
        a, n = self.area, self.line
        return (f"({a}) 555-{n}", f"{a}-555-{n}", f"{a}.555.{n}", f"+1 {a} 555 {n}",
                f"+1{a}555{n}", f"{a}555{n}")[style % 6]

    @property
    def address(self) -> str:
        return f"{self.street}\n{self.city}, {self.state} {self.zip}"


def zipf_weights(count: int, exponent: float = 1.07) -> list[float]:
    return [1 / (rank ** exponent) for rank in range(1, count + 1)]


class Corpus:
    """Seeded generators of people and texts (cheap per call: pools are made once)."""

    def __init__(self, seed: int = 6) -> None:
        self.rng = random.Random(seed)
        pools = _pools(seed)
        self.first_names = pools.first_names
        self.last_names = pools.last_names
        self.streets = pools.street_names
        self.places = pools.places
        self.dealers = [name for name, _email in pools.dealers]
        self.states = list(STATES)
        self.state_weights = list(STATES.values())
        words = list(Lorem.word_list)
        self.rng.shuffle(words)
        cumulative: list[float] = []
        total = 0.0
        for weight in zipf_weights(len(words)):
            total += weight
            cumulative.append(total)
        self.filler = [self._sentence(words, cumulative) for _ in range(6000)]

    def _sentence(self, words: list[str], cumulative: list[float]) -> str:
        chosen = self.rng.choices(words, cum_weights=cumulative, k=self.rng.randint(6, 18))
        return chosen[0].capitalize() + " " + " ".join(chosen[1:]) + "."

    # --- people ------------------------------------------------------------------------
    def person(self, rng: random.Random, number: int) -> Person:
        first, last = rng.choice(self.first_names), rng.choice(self.last_names)
        city, state, zip_code = rng.choice(self.places)
        if state not in AREA_CODES:
            state = rng.choices(self.states, self.state_weights)[0]
        local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}",
                            f"{last}.{first}", f"{first}_{last}"))
        local = fold(local).replace(" ", "")
        email = f"{local}{number % 997 if rng.random() < 0.7 else ''}@{rng.choice(DOMAINS)}"
        return Person(first, last, email, rng.choice(AREA_CODES[state]),
                      f"{rng.randint(0, 9999):04d}",
                      f"{rng.randint(1, 9899)} {rng.choice(self.streets)}", city, state,
                      zip_code)

    def filler_text(self, rng: random.Random, low: int, high: int) -> str:
        return " ".join(rng.choice(self.filler) for _ in range(rng.randint(low, high)))

    # --- what people write ---------------------------------------------------------------
    def request(self, rng: random.Random, person: Person, types: list[str], *,
                spanish: bool = False, phone_style: int | None = None) -> tuple[str, str]:
        """(subject, body) of a first request."""
        if spanish:
            return self._request_es(rng, person, types, phone_style)
        opening = rng.choice(("Hello,", "Hi,", "To whom it may concern,", "Dear Privacy Team,",
                              "Good afternoon,", "Dear Sir or Madam,", ""))
        lines = [opening] if opening else []
        for kind in types:
            lines.append(rng.choice(_ASKS.get(kind, _ASKS["other"])).format(
                p=person, model=rng.choice(MODELS), dealer=rng.choice(self.dealers),
                year=rng.randint(2012, 2025)))
        for _ in range(rng.randint(0, 2)):
            lines.append(rng.choice(_CONTEXT).format(
                p=person, model=rng.choice(MODELS), dealer=rng.choice(self.dealers),
                year=rng.randint(2012, 2025), vin=vin(rng)))
        if rng.random() < 0.5:
            lines.append(self.filler_text(rng, 1, 4))
        closing = [rng.choice(("Thank you,", "Thanks,", "Regards,", "Sincerely,", "Best,")),
                   person.name]
        if phone_style is not None:
            closing.append(person.phone(phone_style))
        if rng.random() < 0.3:
            closing.append(person.address)
        subject = rng.choice(_SUBJECTS.get(types[0], _SUBJECTS["other"]))
        return subject, "\n\n".join(lines) + "\n\n" + "\n".join(closing)

    def _request_es(self, rng: random.Random, person: Person, types: list[str],
                    phone_style: int | None) -> tuple[str, str]:
        asks = {"delete": "Por favor eliminen todos mis datos personales de sus sistemas.",
                "access": "Quisiera una copia de la información personal que tienen sobre mí.",
                "correct": f"Mi dirección es incorrecta; la correcta es {person.street}, "
                           f"{person.city}.",
                "opt_out_marketing": "No quiero recibir más correos de publicidad ni ofertas.",
                "opt_out_sale_share": "No vendan ni compartan mi información personal.",
                "limit_sensitive": "Limiten el uso de mis datos de ubicación del auto."}
        body = ["Hola,", *(asks.get(t, "Tengo una pregunta sobre mi auto.") for t in types),
                rng.choice(("Compré mi auto en " + rng.choice(self.dealers) + ".",
                            "Ya no tengo el vehículo.", "Gracias por su ayuda.")),
                "Atentamente,\n" + person.name
                + (f"\n{person.phone(phone_style)}" if phone_style is not None else "")]
        subject = rng.choice(("Solicitud de privacidad", "Eliminar mis datos",
                              "Mis datos personales"))
        return subject, "\n\n".join(body)

    def reply(self, rng: random.Random, person: Person, ref: str, number: int) -> tuple[str, str]:
        """(subject, body) of the requester writing again."""
        body = rng.choice(_REPLIES).format(p=person, ref=ref, vin=vin(rng),
                                           model=rng.choice(MODELS))
        if rng.random() < 0.4:
            body += "\n\n" + self.filler_text(rng, 1, 3)
        return f"Re: Your privacy request {ref}", body + f"\n\n{person.first}"

    def desk_message(self, rng: random.Random, person: Person, ref: str, received: date
                     ) -> tuple[str, str]:
        """(subject, body) of a message the desk sent."""
        kind = rng.choice(_DESK)
        return (f"{kind[0]} {ref}", kind[1].format(
            p=person, ref=ref, received=f"{received:%B %-d, %Y}",
            due=f"{received + timedelta(days=45):%B %-d, %Y}"))

    def scanned_letter(self, rng: random.Random, person: Person, types: list[str],
                       written: date) -> str:
        """A postal letter as OCR reads it: the layout's line breaks, a few misread
        letters (rn/m, l/1, O/0), a word split at a line end."""
        lines = [person.name, person.street, f"{person.city}, {person.state} {person.zip}", "",
                 f"{written:%B %-d, %Y}", "", f"{BRAND} USA Privacy Office", "PO Box 2240",
                 "Torrance, CA 90509", "", "Dear Privacy Office,", ""]
        text = []
        for kind in types:
            text.append(rng.choice(_ASKS.get(kind, _ASKS["other"])).format(
                p=person, model=rng.choice(MODELS), dealer=rng.choice(self.dealers),
                year=rng.randint(2012, 2025)))
        text.append(rng.choice(_LETTER_CONTEXT).format(
            dealer=rng.choice(self.dealers), model=rng.choice(MODELS),
            year=rng.randint(2010, 2024), vin=vin(rng)))
        text.append(self.filler_text(rng, 1, 3))
        for paragraph in text:
            lines += [*_wrap(paragraph, rng.randint(58, 72)), ""]
        lines += ["Sincerely,", "", person.name]
        if rng.random() < 0.5:
            lines.append(f"Phone: {person.phone(rng.randint(0, 2))}")
        return _ocr_noise(rng, "\n".join(lines))

    # --- whole mails ---------------------------------------------------------------------
    def mail(self, rng: random.Random, *, person: Person, subject: str, body: str,
             message_id: str, sent: datetime, in_reply_to: str | None = None,
             html: bool = False, attachment: bytes | None = None) -> bytes:
        message = EmailMessage()
        message["From"] = f"{person.name} <{person.email}>"
        message["To"] = PRIVACY_ADDRESS
        message["Subject"] = subject
        message["Date"] = format_datetime(sent)
        message["Message-ID"] = message_id
        if in_reply_to:
            message["In-Reply-To"] = in_reply_to
            message["References"] = in_reply_to
        message.set_content(body)
        if html:
            paragraphs = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>"
                                 for p in body.split("\n\n"))
            message.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
        if attachment is not None:
            message.add_attachment(attachment, maintype="application", subtype="pdf",
                                   filename="drivers-license.pdf")
        return message.as_bytes()


def vin(rng: random.Random) -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    return "WMW" + "".join(rng.choice(alphabet) for _ in range(14))


def _wrap(text: str, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


_MISREAD = (("m", "rn"), ("l", "1"), ("O", "0"), ("e", "c"), ("i", "l"), ("S", "5"))


def _ocr_noise(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    for index, word in enumerate(words):
        if len(word) > 3 and rng.random() < 0.03:
            old, new = rng.choice(_MISREAD)
            words[index] = word.replace(old, new, 1)
    return " ".join(words)


_SUBJECTS = {
    "delete": ("Delete my data", "Please delete my information", "Deletion request",
               "CCPA deletion request", "Remove me from your database", "Erase my account"),
    "access": ("Request for my information", "What data do you have about me?",
               "Access request", "Right to know request", "Copy of my personal data"),
    "correct": ("Wrong address on file", "Please correct my information", "Update my details",
                "My name is misspelled in your records"),
    "opt_out_marketing": ("Unsubscribe", "Stop sending me mail", "No more marketing emails",
                          "Please stop the catalogs"),
    "opt_out_sale_share": ("Do not sell my personal information", "Opt out of sharing",
                           "Do not share my data"),
    "limit_sensitive": ("Limit use of my location data", "Sensitive information request"),
    "other": ("Question about my car", "Warranty question", "Service appointment"),
}

_ASKS = {
    "delete": (
        "Please delete all my personal information from your systems.",
        "I want you to erase every record you have about me, including my test-drive and "
        "service history.",
        "Under the CCPA I am exercising my right to delete. Erase my data from your "
        "marketing lists and your dealer network.",
        "I sold my {model} last year. Please remove my account and everything connected to "
        "it.",
        "Delete my information and confirm in writing when it is done.",
    ),
    "access": (
        "I would like a copy of the personal information you hold about me.",
        "What information do you have about me, and who did you share it with?",
        "Please send me all the data you collected from the connected car app on my {model}.",
        "Under California law I request to know the categories and specific pieces of "
        "personal information you have collected about me.",
    ),
    "correct": (
        "My address on file is wrong. It should be {p.street}, {p.city}, {p.state} {p.zip}.",
        "Please correct the spelling of my name: it is {p.first} {p.last}.",
        "The phone number in my profile is old; please update it.",
    ),
    "opt_out_marketing": (
        "Stop sending me marketing emails and catalogs.",
        "Please unsubscribe me from every mailing list, newsletter and offer.",
        "I keep getting letters about new models at my address. Please stop.",
    ),
    "opt_out_sale_share": (
        "Do not sell or share my personal information with anyone.",
        "I opt out of the sale and sharing of my data, including with data brokers.",
    ),
    "limit_sensitive": (
        "Limit the use of my precise location data from the connected car services.",
        "Please stop using my sensitive personal information for anything but the service "
        "I asked for.",
    ),
    "other": (
        "I have a question about the warranty on my {model} bought at {dealer}.",
        "When is my next service due? The dealer {dealer} did not call back.",
    ),
}

_CONTEXT = (
    "I bought a {model} at {dealer} in {year}.",
    "My VIN is {vin}.",
    "I never gave you my phone number, yet the dealership called me three times last week.",
    "I test-drove a {model} at {dealer} but did not buy it.",
    "My account email is {p.email}.",
    "I live in {p.city}, {p.state}.",
    "The car was a lease that ended in {year}.",
    "I also got a survey from your finance company about my loan.",
)

_LETTER_CONTEXT = (
    "I purchased a {model} from {dealer} in {year}; the VIN is {vin}.",
    "My late husband owned a {model} which we sold to {dealer} in {year}.",
    "I do not use email, so please answer by mail to the address above.",
    "Your dealer {dealer} keeps sending me offers although I asked them to stop in {year}.",
)

_REPLIES = (
    "Hello,\n\nHere is the information you asked for. My phone number is {p.area}-555-{p.line} "
    "and my ZIP code is {p.zip}.",
    "I confirm that I made this request. My VIN is {vin}.",
    "Attached is a copy of my driver's license as you asked.",
    "It has been more than a month. When will my request {ref} be completed?",
    "Thank you for the confirmation. Please also delete the data about my {model}.",
    "I did not receive the letter you mentioned. Can you send it again by email?",
)

_DESK = (
    ("We received your privacy request",
     "Dear {p.first} {p.last},\n\nWe received your request on {received} and opened case "
     "{ref}. We will respond by {due}.\n\nPrivacy Office"),
    ("Please verify your identity for",
     "Dear {p.first} {p.last},\n\nTo protect your information we need to verify your identity "
     "before we act on request {ref}. Please reply with your ZIP code and the phone number "
     "we have on file.\n\nPrivacy Office"),
    ("Your request is complete:",
     "Dear {p.first} {p.last},\n\nWe completed your request {ref}. The records we held about "
     "you were deleted or de-identified, and we told our dealers and service providers to do "
     "the same.\n\nPrivacy Office"),
    ("Update on your request",
     "Dear {p.first} {p.last},\n\nWe are still working on request {ref} and will answer by "
     "{due}.\n\nPrivacy Office"),
)
