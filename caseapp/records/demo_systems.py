"""The demo desk's customer systems: one SQLite file of realistic, fictitious customers.

``build_demo_systems`` writes what a car brand's customer database looks like to a desk
searching it: profiles with phones in every format, marketing lists, saved
configurations, web visits (IP, browser, URLs), leads copied to dealers under other
column names, shares with affiliates, warranty records the law says to keep, data bought
from a broker, and the mess real data has: the same person entered twice with a
nickname or a typo, people who moved, families sharing one email, children who signed
up. Everything comes from Faker and one seeded random generator, so a seed always gives
the same rows; names are Faker's, emails are at example.com/example.net, phones are
555 numbers, IPs are from the documentation ranges (RFC 5737, RFC 3849).

Known people can be planted (``PlantedPerson``) with a near-duplicate, an old address
and a child, so tests and demo cases can point at rows that exist. The table
``demo_truth`` records which rows are the same person and why (for measuring lookups);
the sources file does not map it, so no lookup ever reports it.

Fast enough for 1,000,000 customers: Faker fills small pools once, rows are combined
from them, and batches go in with executemany into a temporary file (no journal, no
sync) renamed into place when complete.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

from caseapp.records.normalize import vin_check_digit

DEMO_DB_NAME = "demo_customers.sqlite3"
DEFAULT_CUSTOMERS = 5000
DEFAULT_SEED = 2026
# The data is "as of" this day, not today: the same seed gives the same file any day.
AS_OF = date(2026, 3, 1)
FIRST_DAY = date(2015, 1, 1)
BATCH = 20_000

SCHEMA = """
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    customer_no TEXT,
    first_name TEXT, last_name TEXT,
    email TEXT, phone TEXT,
    street TEXT, city TEXT, state TEXT, postal_code TEXT,
    birth_year INTEGER,
    is_child INTEGER NOT NULL DEFAULT 0,
    parent_email TEXT,
    has_open_financing INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE address_history (
    address_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    street TEXT, city TEXT, state TEXT, postal_code TEXT,
    moved_out_on TEXT
);
CREATE TABLE email_subscriptions (
    subscription_id INTEGER PRIMARY KEY,
    customer_id INTEGER,
    email TEXT NOT NULL,
    list_name TEXT NOT NULL,
    subscribed_at TEXT NOT NULL,
    unsubscribed INTEGER NOT NULL DEFAULT 0,
    unsubscribed_at TEXT
);
CREATE TABLE saved_configurations (
    config_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    config_code TEXT NOT NULL,
    model TEXT NOT NULL, trim TEXT NOT NULL, color TEXT NOT NULL,
    price_usd INTEGER NOT NULL,
    vin TEXT,
    saved_at TEXT NOT NULL
);
CREATE TABLE web_visits (
    visit_id INTEGER PRIMARY KEY,
    customer_id INTEGER,
    cookie_id TEXT,
    ip_address TEXT,
    user_agent TEXT,
    url TEXT NOT NULL,
    referrer TEXT,
    visited_at TEXT NOT NULL
);
CREATE TABLE dealer_leads (
    lead_id INTEGER PRIMARY KEY,
    dealer_name TEXT NOT NULL,
    dealer_email TEXT NOT NULL,
    full_name TEXT,
    contact_email TEXT,
    contact_phone TEXT,
    contact_zip TEXT,
    model_interest TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE affiliate_shares (
    share_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    affiliate_name TEXT NOT NULL,
    purpose TEXT NOT NULL,
    shared_at TEXT NOT NULL
);
CREATE TABLE warranty_records (
    warranty_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    vin TEXT NOT NULL,
    model TEXT NOT NULL, model_year INTEGER NOT NULL,
    in_service_on TEXT NOT NULL,
    claims INTEGER NOT NULL,
    last_claim_on TEXT,
    open_recall INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE third_party_profiles (
    profile_id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    email TEXT,
    full_name TEXT,
    postal_code TEXT,
    interests TEXT,
    income_band TEXT,
    acquired_on TEXT NOT NULL,
    suppressed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE demo_truth (
    customer_id INTEGER NOT NULL,
    person_no INTEGER NOT NULL,
    trait TEXT NOT NULL
);
"""

INDEXES = """
CREATE INDEX customers_email ON customers (email);
CREATE INDEX customers_phone ON customers (phone);
CREATE INDEX customers_name ON customers (last_name, first_name);
CREATE INDEX customers_postal_code ON customers (postal_code);
CREATE INDEX customers_parent_email ON customers (parent_email);
CREATE INDEX address_history_customer ON address_history (customer_id);
CREATE INDEX email_subscriptions_customer ON email_subscriptions (customer_id);
CREATE INDEX email_subscriptions_email ON email_subscriptions (email);
CREATE INDEX saved_configurations_customer ON saved_configurations (customer_id);
CREATE INDEX saved_configurations_vin ON saved_configurations (vin);
CREATE INDEX web_visits_customer ON web_visits (customer_id);
CREATE INDEX web_visits_ip ON web_visits (ip_address);
CREATE INDEX dealer_leads_email ON dealer_leads (contact_email);
CREATE INDEX affiliate_shares_customer ON affiliate_shares (customer_id);
CREATE INDEX warranty_records_customer ON warranty_records (customer_id);
CREATE INDEX warranty_records_vin ON warranty_records (vin);
CREATE INDEX third_party_profiles_email ON third_party_profiles (email);
CREATE INDEX demo_truth_customer ON demo_truth (customer_id);
"""

COLUMNS = {
    "customers": ("customer_id", "customer_no", "first_name", "last_name", "email", "phone",
                  "street", "city", "state", "postal_code", "birth_year", "is_child",
                  "parent_email", "has_open_financing", "created_at", "updated_at"),
    "address_history": ("customer_id", "street", "city", "state", "postal_code",
                        "moved_out_on"),
    "email_subscriptions": ("customer_id", "email", "list_name", "subscribed_at",
                            "unsubscribed", "unsubscribed_at"),
    "saved_configurations": ("customer_id", "config_code", "model", "trim", "color",
                             "price_usd", "vin", "saved_at"),
    "web_visits": ("customer_id", "cookie_id", "ip_address", "user_agent", "url", "referrer",
                   "visited_at"),
    "dealer_leads": ("dealer_name", "dealer_email", "full_name", "contact_email",
                     "contact_phone", "contact_zip", "model_interest", "created_at"),
    "affiliate_shares": ("customer_id", "affiliate_name", "purpose", "shared_at"),
    "warranty_records": ("customer_id", "vin", "model", "model_year", "in_service_on",
                         "claims", "last_claim_on", "open_recall"),
    "third_party_profiles": ("provider", "email", "full_name", "postal_code", "interests",
                             "income_band", "acquired_on", "suppressed"),
    "demo_truth": ("customer_id", "person_no", "trait"),
}

MODELS = ("Sprint 3-Door", "Sprint 5-Door", "Sprint Convertible", "Ridge Crossover",
          "Volt-E Hatch", "Clubwagon")
MODEL_CODES = {"Sprint 3-Door": "S3D", "Sprint 5-Door": "S5D", "Sprint Convertible": "SCV",
               "Ridge Crossover": "RCX", "Volt-E Hatch": "VEH", "Clubwagon": "CWG"}
TRIMS = ("Classic", "Signature", "Iconic", "Sport")
COLORS = ("Chili Red", "Midnight Black", "Pepper White", "Racing Green", "Island Blue",
          "Moonwalk Grey", "Sunset Orange")
LISTS = ("Newsletter", "Offers & events", "Owner news", "New model alerts")
KIDS_LIST = "Kids Club"
AFFILIATES = (("Brand Financial Services", "Financing pre-qualification"),
              ("Brand Insurance Agency", "Insurance quote"))
BROKERS = ("Acme Data Partners", "Lifestyle Audiences Inc.")
INTERESTS = ("outdoors", "travel", "family", "tech", "luxury", "motorsport", "pets", "golf")
INCOME_BANDS = ("<50k", "50-75k", "75-100k", "100-150k", "150k+")
REFERRERS = ("https://www.search.example/", "https://social.example/feed", "", "",
             "https://news.example/autos")
# Weighted toward the brand's biggest markets; area codes are real, numbers are 555 ones.
STATES = {"CA": 30, "TX": 10, "FL": 8, "NY": 7, "WA": 4, "IL": 4, "VA": 4, "CO": 4,
          "OR": 3, "CT": 3, "NJ": 4, "MA": 4, "AZ": 3, "UT": 2, "GA": 4, "NC": 3, "PA": 3}
AREA_CODES = {
    "CA": ("916", "415", "510", "213", "310", "619", "714", "818", "408", "559"),
    "TX": ("512", "214", "713", "210", "817"), "FL": ("305", "407", "813", "904"),
    "NY": ("212", "718", "516", "585"), "WA": ("206", "425", "509"), "IL": ("312", "773"),
    "VA": ("703", "804", "757"), "CO": ("303", "719", "970"), "OR": ("503", "541"),
    "CT": ("203", "860"), "NJ": ("201", "973", "609"), "MA": ("617", "508", "413"),
    "AZ": ("602", "480", "520"), "UT": ("801", "435"), "GA": ("404", "770", "912"),
    "NC": ("919", "704", "336"), "PA": ("215", "412", "717"),
}
STATE_NAMES = {"CA": "California", "TX": "Texas", "FL": "Florida", "NY": "New York",
               "WA": "Washington", "IL": "Illinois", "VA": "Virginia", "CO": "Colorado",
               "OR": "Oregon", "CT": "Connecticut", "NJ": "New Jersey",
               "MA": "Massachusetts", "AZ": "Arizona", "UT": "Utah", "GA": "Georgia",
               "NC": "North Carolina", "PA": "Pennsylvania"}
STREET_SUFFIXES = {"Street": 30, "Avenue": 20, "Drive": 12, "Road": 10, "Lane": 8, "Court": 6,
                   "Boulevard": 5, "Way": 5, "Place": 4}
ABBREVIATED = {"Street": "St.", "Avenue": "Ave", "Drive": "Dr.", "Road": "Rd", "Lane": "Ln",
               "Court": "Ct", "Boulevard": "Blvd.", "Way": "Way", "Place": "Pl."}
NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Katherine": "Kate",
    "Jennifer": "Jen", "Michael": "Mike", "Christopher": "Chris", "Margaret": "Peggy",
    "Richard": "Rick", "James": "Jim", "Joseph": "Joe", "Thomas": "Tom", "Daniel": "Dan",
    "Matthew": "Matt", "Anthony": "Tony", "Alexander": "Alex", "Patricia": "Pat",
    "Jessica": "Jess", "Rebecca": "Becky", "Samantha": "Sam", "Nicholas": "Nick",
    "Jonathan": "Jon", "Benjamin": "Ben", "Steven": "Steve", "Andrew": "Andy",
    "Timothy": "Tim", "Kimberly": "Kim", "Deborah": "Debbie", "Susan": "Sue",
    "Francisco": "Paco", "José": "Pepe", "Guadalupe": "Lupe", "Ignacio": "Nacho",
    "Alejandro": "Alex", "Eduardo": "Lalo", "Roberto": "Beto", "Alberto": "Beto",
}
ACCENTS = str.maketrans("áéíóúüñÁÉÍÓÚÜÑ", "aeiouunAEIOUUN")
VIN_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VIN_YEARS = dict(zip(range(2015, 2027), "FGHJKLMNPRST", strict=True))
# A manufacturer code no real maker has: the VINs are well-formed but fictitious.
VIN_WMI = "9ZD"
SIX_DIGITS = 10**6


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class PlantedPerson:
    """A known person written into the demo systems, with the rows a search should find."""

    first_name: str
    last_name: str
    email: str
    phone: str
    address: Address
    duplicate_first_name: str = ""
    """A second, near-duplicate profile under this first name ("" for none)."""
    duplicate_phone: str = ""
    """The same phone as written in the duplicate profile (another format)."""
    child_first_name: str = ""
    """A child's sign-up carrying this person's email as the parent's ("" for none)."""
    child_age: int = 10
    previous_address: Address | None = None
    """Where the person lived before moving (kept in address_history and an old lead)."""
    ip_address: str = ""


@dataclass(frozen=True)
class PlantedRows:
    person: PlantedPerson
    customer_id: int
    customer_no: str
    duplicate_id: int | None
    child_id: int | None
    vin: str
    ip_address: str


@dataclass(frozen=True)
class DemoSystems:
    path: Path
    seed: int
    rows: dict[str, int]
    """Rows per table."""
    traits: dict[str, int]
    """Rows per realistic feature: near_duplicate, shared_email, child, moved."""
    planted: tuple[PlantedRows, ...]
    seconds: float


# The people the demo cases name; their rows exist in every demo database.
DEMO_PEOPLE: tuple[PlantedPerson, ...] = (
    PlantedPerson(
        first_name="José", last_name="Núñez", email="jose.nunez@example.com",
        phone="(916) 555-0143",
        address=Address("1420 Capitol Avenue", "Sacramento", "CA", "95814"),
        duplicate_first_name="Jose", duplicate_phone="916.555.0143",
        previous_address=Address("88 Alhambra Boulevard", "Sacramento", "CA", "95816"),
        ip_address="2001:db8:4a1::143",
    ),
    PlantedPerson(
        first_name="Emily", last_name="Carter", email="emily.carter@example.net",
        phone="+1 503 555 0187",
        address=Address("2715 NE Alberta Street", "Portland", "OR", "97211"),
        duplicate_first_name="Emilie", duplicate_phone="(503) 555-0187",
        child_first_name="Tyler", child_age=11, ip_address="198.51.100.187",
    ),
    PlantedPerson(
        first_name="Robert", last_name="Miller", email="rob.miller@example.com",
        phone="512-555-0122",
        address=Address("4410 Duval Street", "Austin", "TX", "78751"),
        duplicate_first_name="Bob", duplicate_phone="+1 512 555 0122",
    ),
)


@dataclass
class _Pools:
    """Small lists Faker fills once; rows are combined from them (fast and seeded)."""

    first_names: list[str]
    last_names: list[str]
    street_names: list[str]
    places: list[tuple[str, str, str]]
    user_agents: list[str]
    dealers: list[tuple[str, str]]
    days: list[str] = field(default_factory=list)


class _FastRandom(random.Random):
    """random.Random with the integer draws done the short way (a 1M-customer build makes
    tens of millions of them; the stdlib's exact rejection sampling was most of its time).
    The bias of int(random() * n) is below 1e-12 for the small n used here."""

    def _randbelow(self, n: int) -> int:
        return int(self.random() * n)

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None,
                  step: int = 1) -> int:
        if stop is None:
            return int(self.random() * start)
        return start + step * int(self.random() * ((stop - start + step - 1) // step))


def _unique(values: Iterator[str], count: int) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
        if len(seen) >= count:
            break
    return list(seen)


def _pools(seed: int) -> _Pools:
    english, spanish = Faker("en_US"), Faker("es_MX")
    english.seed_instance(seed)
    spanish.seed_instance(seed + 1)
    draws = 2000
    first = (_unique((english.first_name() for _ in range(draws)), 600)
             + _unique((spanish.first_name() for _ in range(draws)), 200))
    last = (_unique((english.last_name() for _ in range(draws)), 900)
            + _unique((spanish.last_name() for _ in range(draws)), 300))
    rng = random.Random(seed)
    suffixes = list(STREET_SUFFIXES)
    weights = list(STREET_SUFFIXES.values())
    streets = []
    for _ in range(3000):
        number = rng.randint(1, 40)
        base = rng.choice((english.last_name(), english.first_name(), english.last_name(),
                           f"{number}{_ordinal(number)}"))
        streets.append(f"{base} {rng.choices(suffixes, weights)[0]}")
    states = list(STATES)
    state_weights = list(STATES.values())
    places = []
    for _ in range(2500):
        state = rng.choices(states, state_weights)[0]
        places.append((english.city(), state, english.zipcode_in_state(state)))
    dealers = []
    for _ in range(120):
        town = english.city()
        name = f"{town} {rng.choice(('Motors', 'Auto', 'Cars', 'Motor Group'))}"
        slug = "".join(ch for ch in name.lower() if ch.isalnum())
        dealers.append((name, f"leads@{slug}.example.net"))
    agents = _unique((english.user_agent() for _ in range(2000)), 300)
    days = [(FIRST_DAY + timedelta(days=n)).isoformat()
            for n in range((AS_OF - FIRST_DAY).days + 1)]
    return _Pools(first, last, streets, places, agents, dealers, days)


def _ordinal(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


class _Writer:
    """Rows buffered per table and written in batches."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.buffers: dict[str, list[tuple[object, ...]]] = {name: [] for name in COLUMNS}
        self.counts: dict[str, int] = dict.fromkeys(COLUMNS, 0)
        self.next_ids: dict[str, int] = dict.fromkeys(COLUMNS, 1)
        self.sql = {name: f"INSERT INTO {name} ({', '.join(columns)}) VALUES "
                          f"({', '.join('?' * len(columns))})"
                    for name, columns in COLUMNS.items()}

    def add(self, table: str, row: tuple[object, ...]) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= BATCH:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.buffers):
            buffer = self.buffers[name]
            if buffer:
                self.connection.executemany(self.sql[name], buffer)
                self.counts[name] += len(buffer)
                buffer.clear()


class _Generator:
    def __init__(self, writer: _Writer, pools: _Pools, rng: _FastRandom) -> None:
        self.w = writer
        self.p = pools
        self.rng = rng
        self.customer_id = 0
        self.person_no = 0
        self.vin_serial = 0
        self.traits = {"near_duplicate": 0, "shared_email": 0, "child": 0, "moved": 0}

    # -- small pieces --

    def day(self, low: int = 0, high: int | None = None) -> str:
        days = self.p.days
        return days[self.rng.randint(low, len(days) - 1 if high is None else high)]

    def moment(self, low: int = 0) -> str:
        minutes, second = divmod(6 * 3600 + int(self.rng.random() * 18 * 3600), 60)
        return f"{self.day(low)}T{minutes // 60:02d}:{minutes % 60:02d}:{second:02d}"

    def day_index(self, iso_day: str) -> int:
        return (date.fromisoformat(iso_day[:10]) - FIRST_DAY).days

    def phone(self, state: str) -> tuple[str, str]:
        """(area code, 4-digit line) of a 555 number."""
        return self.rng.choice(AREA_CODES[state]), f"{self.rng.randint(0, 9999):04d}"

    def phone_text(self, area: str, line: str, style: int | None = None) -> str:
        style = self.rng.randrange(7) if style is None else style
        return (f"({area}) 555-{line}", f"{area}.555.{line}", f"+1 {area} 555 {line}",
                f"{area}-555-{line}", f"{area}555{line}", f"1-{area}-555-{line}",
                f"({area}) 555-{line}")[style]

    def email(self, first: str, last: str) -> str:
        r = self.rng
        f = _slug(first)
        s = _slug(last)
        style = r.randrange(5)
        local = (f"{f}.{s}{r.randint(1, 9999)}", f"{f}{s}{r.randint(1, 999)}",
                 f"{f[:1]}{s}{r.randint(1, 9999)}", f"{s}.{f}{r.randint(1, 99)}",
                 f"{f}_{s}{r.randint(1900, 2010)}")[style]
        return f"{local}@{r.choice(('example.com', 'example.net'))}"

    def address(self) -> Address:
        r = self.rng
        street = f"{r.randint(1, 9899)} {r.choice(self.p.street_names)}"
        if r.random() < 0.15:
            street += f" {r.choice(('Apt.', 'Apt', 'Unit', '#', 'Suite'))} {r.randint(1, 420)}"
        city, state, postal_code = r.choice(self.p.places)
        return Address(street, city, state, postal_code)

    def written_zip(self, postal_code: str) -> str:
        """As systems hold it: mostly 5 digits, some ZIP+4, some with a lost leading 0."""
        roll = self.rng.random()
        if roll < 0.05:
            return f"{postal_code}-{self.rng.randint(0, 9999):04d}"
        if postal_code.startswith("0") and roll < 0.3:
            return postal_code.lstrip("0")
        return postal_code

    def written_state(self, state: str) -> str:
        roll = self.rng.random()
        if roll < 0.02:
            return STATE_NAMES[state]
        return state.lower() if roll < 0.03 else state

    def vin(self, year: int) -> str:
        self.vin_serial += 1
        r = self.rng
        vds = "".join(r.choice(VIN_LETTERS) for _ in range(5))
        body = f"{VIN_WMI}{vds}0{VIN_YEARS[year]}A{self.vin_serial % SIX_DIGITS:06d}"
        check = vin_check_digit(body)
        assert check is not None
        return body[:8] + check + body[9:]

    # -- rows --

    def customer(self, first: str, last: str, email: str | None, phone: str | None,
                 address: Address, *, created: str, birth_year: int | None,
                 is_child: bool = False, parent_email: str | None = None,
                 financing: bool = False, trait: str = "person",
                 person_no: int | None = None) -> int:
        self.customer_id += 1
        customer_id = self.customer_id
        if person_no is None:
            self.person_no += 1
            person_no = self.person_no
        updated = self.moment(self.day_index(created))
        self.w.add("customers", (
            customer_id, f"CU-{customer_id:08d}", first, last, email, phone, address.street,
            address.city, self.written_state(address.state), self.written_zip(address.postal_code),
            birth_year, int(is_child), parent_email, int(financing), created,
            max(created, updated)))
        self.w.add("demo_truth", (customer_id, person_no, trait))
        return customer_id

    def activity(self, customer_id: int, first: str, last: str, email: str | None,
                 phone: str | None, address: Address, created: str, *,
                 child: bool = False, old_address: Address | None = None,
                 home_ip: str | None = None) -> str | None:
        """The rows around a profile; returns the VIN of a car the person owns, if any."""
        r = self.rng
        start = self.day_index(created)
        if email and (child or r.random() < 0.6):
            lists = (KIDS_LIST,) if child else r.sample(LISTS, r.choice((1, 1, 2)))
            for list_name in lists:
                stopped = r.random() < 0.2
                subscribed = self.moment(start)
                self.w.add("email_subscriptions", (
                    customer_id, email if r.random() < 0.9 else email.upper(), list_name,
                    subscribed, int(stopped),
                    self.moment(self.day_index(subscribed)) if stopped else None))
        if r.random() < (0.5 if child else 0.35):
            for _ in range(r.choice((1, 1, 2, 3))):
                model = r.choice(MODELS)
                year = min(AS_OF.year, 2016 + r.randrange(11))
                self.w.add("saved_configurations", (
                    customer_id, f"CFG-{r.randrange(36**6):06X}", model, r.choice(TRIMS),
                    r.choice(COLORS), r.randrange(24_000, 52_000, 50),
                    self.vin(year) if r.random() < 0.25 else None, self.moment(start)))
        ip = home_ip or self.ip()
        if r.random() < 0.5 or home_ip:
            cookie = f"ck_{r.getrandbits(48):012x}"
            for _ in range(r.choice((1, 2, 2, 3, 4))):
                self.w.add("web_visits", (
                    customer_id, cookie, ip if r.random() < 0.8 else self.ip(),
                    r.choice(self.p.user_agents), self.url(email, address.postal_code),
                    r.choice(REFERRERS) or None, self.moment(start)))
        if not child and r.random() < 0.15:
            dealer, dealer_email = r.choice(self.p.dealers)
            where = old_address or address
            full = f"{first} {last}"
            self.w.add("dealer_leads", (
                dealer, dealer_email, full.upper() if r.random() < 0.2 else full,
                (email.upper() if r.random() < 0.2 else email) if email else None,
                self.phone_text(*_split_phone(phone)) if phone else None,
                self.written_zip(where.postal_code), r.choice(MODELS), self.moment(start)))
        if not child and r.random() < 0.1:
            affiliate, purpose = r.choice(AFFILIATES)
            self.w.add("affiliate_shares", (customer_id, affiliate, purpose,
                                            self.moment(start)))
        if email and not child and r.random() < 0.07:  # a broker sells back what it gathered
            self.w.add("third_party_profiles", (
                r.choice(BROKERS), email.lower(), f"{first} {last}",
                self.written_zip(address.postal_code), ", ".join(r.sample(INTERESTS, 2)),
                r.choice(INCOME_BANDS), self.day(start), 0))
        owned = None
        if not child and r.random() < 0.2:
            year = r.randint(2015, 2026)
            owned = self.vin(year)
            in_service = max(start, self.day_index(f"{year}-01-01"))
            claims = r.choice((0, 0, 0, 1, 1, 2, 3))
            self.w.add("warranty_records", (
                customer_id, owned, r.choice(MODELS), year, self.day(min(in_service,
                                                                        len(self.p.days) - 1)),
                claims, self.day(in_service) if claims else None, int(r.random() < 0.05)))
        return owned

    def ip(self) -> str:
        r = self.rng
        if r.random() < 0.5:
            net = r.choice(("192.0.2", "198.51.100", "203.0.113"))
            return f"{net}.{r.randint(1, 254)}"
        return f"2001:db8:{r.getrandbits(16):x}:{r.getrandbits(16):x}::{r.getrandbits(16):x}"

    def url(self, email: str | None, postal_code: str) -> str:
        r = self.rng
        model = r.choice(MODELS).lower().replace(" ", "-")
        roll = r.random()
        if roll < 0.02 and email:  # an old sign-up form put the address in the URL
            return f"https://www.brand.example/newsletter/confirm?email={email}"
        if roll < 0.1:
            return f"https://www.brand.example/dealers?zip={postal_code}"
        return r.choice((f"https://www.brand.example/configurator/{model}",
                         f"https://www.brand.example/models/{model}",
                         "https://www.brand.example/offers",
                         "https://www.brand.example/owners/login"))

    # -- people --

    def person(self, room: int) -> None:
        """One person: a profile and activity, sometimes a duplicate, family or child."""
        r = self.rng
        first, last = r.choice(self.p.first_names), r.choice(self.p.last_names)
        address = self.address()
        area, line = self.phone(address.state)
        phone = self.phone_text(area, line) if r.random() < 0.9 else None
        email = self.email(first, last) if r.random() < 0.95 else None
        created = self.moment()
        financing = r.random() < 0.03
        old = None
        if r.random() < 0.04:  # moved: the old address stays in history and old leads
            old = self.address()
        customer_id = self.customer(first, last, email, phone, address, created=created,
                                    birth_year=r.randint(1940, 2005), financing=financing)
        person_no = self.person_no
        if old:
            self.moved(customer_id, person_no, old, created)
        self.activity(customer_id, first, last, email, phone, address, created,
                      old_address=old)
        roll = r.random()
        if room < 1:
            return
        if roll < 0.02:
            self.near_duplicate(first, last, email, (area, line), address, person_no)
        elif roll < 0.035:
            self.family(last, email, phone, address, person_no)
        elif roll < 0.04 and email:
            self.child(last, email, address, r.randint(7, 12))

    def moved(self, customer_id: int, person_no: int, old: Address, created: str) -> None:
        self.w.add("address_history", (customer_id, old.street, old.city, old.state,
                                        old.postal_code, self.day(self.day_index(created))))
        self.w.add("demo_truth", (customer_id, person_no, "moved"))
        self.traits["moved"] += 1

    def near_duplicate(self, first: str, last: str, email: str | None,
                       phone: tuple[str, str], address: Address, person_no: int,
                       *, first_as: str = "", last_as: str = "", phone_as: str = "") -> int:
        r = self.rng
        last = last_as or last
        if not first_as:
            if first in NICKNAMES and r.random() < 0.6:
                first_as = NICKNAMES[first]
            elif first.translate(ACCENTS) != first or last.translate(ACCENTS) != last:
                first, last = first.translate(ACCENTS), last.translate(ACCENTS)
                first_as = first
            elif r.random() < 0.5:
                first_as, last = first, _typo(last, r)
            else:
                first_as = _typo(first, r)
        roll = r.random()
        if email and roll < 0.4:
            dup_email: str | None = email
        elif email and roll < 0.6:
            local, _, domain = email.partition("@")
            dup_email = f"{local.title()}@{domain.title()}"
        elif email and roll < 0.75:
            local, _, domain = email.partition("@")
            dup_email = f"{local}+cars@{domain}"
        else:
            dup_email = self.email(first_as, last)
        words = address.street.split()
        street = " ".join(ABBREVIATED.get(word, word) for word in words)
        written = Address(street, address.city, address.state, address.postal_code)
        created = self.moment()
        customer_id = self.customer(first_as, last, dup_email,
                                    phone_as or self.phone_text(*phone), written,
                                    created=created, birth_year=None,
                                    trait="near_duplicate", person_no=person_no)
        self.activity(customer_id, first_as, last, dup_email, None, written, created)
        self.traits["near_duplicate"] += 1
        return customer_id

    def family(self, last: str, email: str | None, phone: str | None, address: Address,
               person_no: int) -> None:
        r = self.rng
        first = r.choice(self.p.first_names)
        created = self.moment()
        self.person_no += 1
        customer_id = self.customer(first, last, email, phone if r.random() < 0.5 else None,
                                    address, created=created, birth_year=r.randint(1940, 2005),
                                    trait="shared_email")
        self.activity(customer_id, first, last, email, None, address, created)
        self.traits["shared_email"] += 1

    def child(self, last: str, parent_email: str, address: Address, age: int,
              first: str = "") -> int:
        r = self.rng
        first = first or r.choice(self.p.first_names)
        email = (f"{_slug(first)}{r.randint(10, 99)}{_slug(last)[:1]}@example.net"
                 if r.random() < 0.5 else None)
        # Signed up within the last two years, so still under 13 on the day of the data.
        created = self.moment(len(self.p.days) - 730)
        self.person_no += 1
        customer_id = self.customer(first, last, email, None, address, created=created,
                                    birth_year=AS_OF.year - age, is_child=True,
                                    parent_email=parent_email, trait="child")
        self.activity(customer_id, first, last, email or parent_email, None, address,
                      created, child=True)
        self.traits["child"] += 1
        return customer_id

    def planted(self, person: PlantedPerson) -> PlantedRows:
        created = self.moment()
        customer_id = self.customer(person.first_name, person.last_name, person.email,
                                    person.phone, person.address, created=created,
                                    birth_year=1980, trait="planted")
        person_no = self.person_no
        if person.previous_address:
            self.moved(customer_id, person_no, person.previous_address, created)
            dealer, dealer_email = self.p.dealers[0]
            self.w.add("dealer_leads", (
                dealer, dealer_email, f"{person.first_name} {person.last_name}",
                person.email, person.phone, person.previous_address.postal_code,
                MODELS[0], created))
        ip = person.ip_address or self.ip()
        vin = self.vin(2024)
        # Everything the desk should find for this person, every time.
        self.w.add("email_subscriptions", (customer_id, person.email, LISTS[0], created, 0,
                                           None))
        self.w.add("saved_configurations", (customer_id, f"CFG-P{customer_id:05d}",
                                            MODELS[1], TRIMS[1], COLORS[0], 34_950, None,
                                            created))
        self.w.add("web_visits", (customer_id, f"ck_planted{customer_id}", ip,
                                  self.p.user_agents[0],
                                  "https://www.brand.example/configurator/sprint-5-door",
                                  None, created))
        self.w.add("affiliate_shares", (customer_id, AFFILIATES[0][0], AFFILIATES[0][1],
                                        created))
        self.w.add("warranty_records", (customer_id, vin, MODELS[1], 2024, "2024-05-02", 1,
                                        "2025-08-19", 0))
        duplicate_id = None
        if person.duplicate_first_name:
            area, line = _split_phone(person.phone)
            duplicate_id = self.near_duplicate(
                person.first_name, person.last_name, person.email, (area, line),
                person.address, person_no, first_as=person.duplicate_first_name,
                last_as=person.last_name.translate(ACCENTS), phone_as=person.duplicate_phone)
        child_id = None
        if person.child_first_name:
            child_id = self.child(person.last_name, person.email, person.address,
                                  person.child_age, first=person.child_first_name)
            self.w.add("demo_truth", (child_id, self.person_no, "planted_child"))
        return PlantedRows(person=person, customer_id=customer_id,
                           customer_no=f"CU-{customer_id:08d}", duplicate_id=duplicate_id,
                           child_id=child_id, vin=vin, ip_address=ip)

    def broker_data(self, count: int) -> None:
        """Profiles bought from data brokers: some match customers, most do not."""
        r = self.rng
        for _ in range(count):
            first, last = r.choice(self.p.first_names), r.choice(self.p.last_names)
            _, _, postal_code = r.choice(self.p.places)
            self.w.add("third_party_profiles", (
                r.choice(BROKERS), self.email(first, last), f"{first} {last}", postal_code,
                ", ".join(r.sample(INTERESTS, 2)), r.choice(INCOME_BANDS), self.day(), 0))

    def anonymous_activity(self, count: int) -> None:
        r = self.rng
        for _ in range(count):
            _, _, postal_code = r.choice(self.p.places)
            self.w.add("web_visits", (
                None, f"ck_{r.getrandbits(48):012x}", self.ip(), r.choice(self.p.user_agents),
                self.url(None, postal_code), r.choice(REFERRERS) or None, self.moment()))
        for _ in range(count // 5):
            first, last = r.choice(self.p.first_names), r.choice(self.p.last_names)
            self.w.add("email_subscriptions", (None, self.email(first, last), LISTS[0],
                                               self.moment(), 0, None))


def _slug(name: str) -> str:
    return "".join(ch for ch in name.translate(ACCENTS).lower() if ch.isalnum()) or "x"


def _split_phone(phone: str | None) -> tuple[str, str]:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())[-10:]
    return digits[:3] or "916", digits[-4:] or "0100"


def _typo(word: str, rng: random.Random) -> str:
    """One slip of the keyboard: swap, drop or double a letter."""
    if len(word) < 4:
        return word + word[-1]
    index = rng.randrange(1, len(word) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:index] + word[index + 1] + word[index] + word[index + 2:]
    if kind == 1:
        return word[:index] + word[index + 1:]
    return word[:index] + word[index] + word[index:]


def build_demo_systems(
    path: Path,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    planted: Sequence[PlantedPerson] = DEMO_PEOPLE,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSystems:
    """Write the demo customer systems to ``path`` (replacing it) with ``customers``
    profiles in all (planted people, duplicates and children included)."""
    if customers < 10 * max(1, len(planted)):
        raise ValueError(f"{customers} customers are too few for {len(planted)} planted "
                         "people; use at least 10 per planted person")
    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.building")
    with suppress(FileNotFoundError):
        temp.unlink()
    connection = sqlite3.connect(temp, isolation_level=None)
    try:
        # A half-written file is thrown away, so neither journal nor sync is needed.
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-65536")
        connection.executescript(SCHEMA)
        connection.execute("BEGIN")
        writer = _Writer(connection)
        generator = _Generator(writer, _pools(seed), _FastRandom(seed))
        rows = tuple(generator.planted(person) for person in planted)
        step = max(1, customers // 100)
        while generator.customer_id < customers:
            # Leave room so extra profiles (duplicates, family, children) never overshoot.
            generator.person(room=customers - generator.customer_id - 1)
            if progress and generator.customer_id % step == 0:
                progress(generator.customer_id, customers)
        generator.anonymous_activity(customers // 2)
        generator.broker_data(customers // 50)
        writer.flush()
        connection.execute("COMMIT")
        connection.executescript(INDEXES)
        connection.execute("ANALYZE")
        counts = dict(writer.counts)
    except BaseException:
        connection.close()
        with suppress(OSError):
            temp.unlink()
        raise
    connection.close()
    os.replace(temp, path)
    if progress:
        progress(customers, customers)
    return DemoSystems(path=path, seed=seed, rows=counts, traits=dict(generator.traits),
                       planted=rows, seconds=time.perf_counter() - started)

