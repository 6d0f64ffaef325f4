"""A second customer system, shaped unlike the demo one: a dealer CRM on PostgreSQL.

Schema ``crm``: ``contacts(contact_no, given_name, family_name, mail, mobile, addr_line1,
town, region, postcode)`` and ``vehicles(contact_no, vin)``, other names for the same
identifiers; ``tests/dealer_crm_sources.toml`` maps it. Filled with seeded Faker people
and one planted person (the demo's José Núñez, as a dealer would have typed him).
"""

from __future__ import annotations

import random

from faker import Faker
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    text,
)

from caseapp.records.normalize import vin_check_digit

SCHEMA = "crm"
metadata = MetaData(schema=SCHEMA)
contacts = Table(
    "contacts", metadata,
    Column("contact_no", String(12), primary_key=True),
    Column("given_name", String(80)), Column("family_name", String(80)),
    Column("mail", String(120)), Column("mobile", String(40)),
    Column("addr_line1", String(120)), Column("town", String(80)),
    Column("region", String(40)), Column("postcode", String(12)),
    Column("marketing_ok", Integer, nullable=False, server_default="1"),
)
vehicles = Table(
    "vehicles", metadata,
    Column("vin", String(17), primary_key=True),
    Column("contact_no", String(12), ForeignKey(contacts.c.contact_no), nullable=False),
)

PLANTED = {
    "contact_no": "D-000001", "given_name": "JOSE", "family_name": "NUNEZ",
    "mail": "Jose.Nunez@example.com", "mobile": "+1 (916) 555-0143",
    "addr_line1": "1420 Capitol Ave.", "town": "Sacramento", "region": "California",
    "postcode": "95814-2231", "marketing_ok": 1,
}
PLANTED_VIN_BODY = "9ZD85SAF0RA900001"


def planted_vin() -> str:
    check = vin_check_digit(PLANTED_VIN_BODY)
    assert check is not None
    return PLANTED_VIN_BODY[:8] + check + PLANTED_VIN_BODY[9:]


def build_dealer_crm(url: str, contacts_count: int = 300, seed: int = 11) -> None:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    rows = [PLANTED]
    cars = [{"vin": planted_vin(), "contact_no": "D-000001"}]
    for number in range(2, contacts_count + 1):
        given, family = fake.first_name(), fake.last_name()
        rows.append({
            "contact_no": f"D-{number:06d}", "given_name": given, "family_name": family,
            "mail": f"{given}.{family}{number}@example.net".lower(),
            "mobile": f"({rng.choice(('916', '503', '512'))}) 555-{rng.randint(0, 9999):04d}",
            "addr_line1": fake.street_address(), "town": fake.city(),
            "region": fake.state_abbr(), "postcode": fake.zipcode(), "marketing_ok": 1,
        })
        if rng.random() < 0.3:
            body = f"9ZD{rng.randint(10000, 99999)}0R{rng.randint(100000, 899999)}"[:17]
            body = body.ljust(17, "0")
            check = vin_check_digit(body)
            if check:
                cars.append({"vin": body[:8] + check + body[9:],
                             "contact_no": f"D-{number:06d}"})
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        metadata.create_all(connection)
        connection.execute(insert(contacts), rows)
        connection.execute(insert(vehicles), cars)
    engine.dispose()
