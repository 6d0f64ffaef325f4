"""Demo desk: generated staff and a few hundred realistic cases (never real people).

Cases are created through the same services staff use, with the clock set to when each
step would have happened, so deadlines, history and the audit chain are all genuine.
"""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from faker import Faker

from caseapp.clock import Clock
from caseapp.config import Paths
from caseapp.errors import UserError
from caseapp.records.demo_systems import (
    DEFAULT_CUSTOMERS,
    DEMO_DB_NAME,
    DEMO_PEOPLE,
    DemoSystems,
    PlantedPerson,
    build_demo_systems,
)
from caseapp.records.sources import load_sources
from caseapp.resources import resources_dir
from caseapp.services import Desk
from caseapp.services.dto import NewCase, PartyData, StepRequest
from caseapp.vocabulary import VERIFICATION_METHODS

STAFF = (("maria.lopez", "agent"), ("dan.cho", "supervisor"), ("priya.shah", "agent"))

# Weighted mixes seen at a brand's privacy desk (illustrative, not measured).
CHANNEL_MIX = {"email": 50, "postal": 25, "phone": 15, "web": 6, "in_person": 4}
JURISDICTION_MIX = {"CA": 45, "VA": 7, "CO": 6, "CT": 4, "TX": 6, "OR": 4, "UT": 3, "EU": 3,
                    "": 22}
TYPE_SETS = {
    ("delete",): 30,
    ("access",): 14,
    ("opt_out_marketing",): 14,
    ("opt_out_sale_share",): 8,
    ("correct",): 8,
    ("access", "delete"): 8,
    ("limit_sensitive",): 3,
    ("opt_out_marketing", "opt_out_sale_share"): 5,
    ("other",): 10,
}
STATE_ZIPS = {"CA": "9", "VA": "22", "CO": "80", "CT": "06", "TX": "75", "OR": "97", "UT": "84"}
SUMMARIES = {
    "delete": ["Please delete my account and all data you hold about me.",
               "Remove my information from your systems, including the car configurator.",
               "Borre toda mi información personal, por favor."],
    "access": ["I want a copy of the personal information you have about me.",
               "What data have you shared with dealers about me?"],
    "correct": ["My address is wrong in your records; I moved last year.",
                "Please correct the spelling of my last name."],
    "opt_out_marketing": ["Stop sending me marketing emails and brochures.",
                          "Unsubscribe me from the newsletter and postal mailings."],
    "opt_out_sale_share": ["Do not sell or share my personal information.",
                           "Opt me out of sharing with affiliates and dealers."],
    "limit_sensitive": ["Limit the use of my precise location data."],
    "other": ["My warranty claim was refused; who can I talk to?",
              "Question about the recall notice for my vehicle."],
}


@dataclass(frozen=True)
class DemoResult:
    cases: int
    users: tuple[str, ...]


def _pick(rng: random.Random, mix: dict[str, int] | dict[tuple[str, ...], int]) -> object:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _person(fake: Faker, rng: random.Random, state: str) -> PartyData:
    name = f"{fake.first_name()} {fake.last_name()}"
    slug = name.lower().replace(" ", ".").replace("'", "")
    email = f"{slug}{rng.randint(1, 99)}@example.{rng.choice(['com', 'net', 'org'])}"
    postal_code = STATE_ZIPS.get(state, str(rng.randint(1, 9))) + "".join(
        str(rng.randint(0, 9)) for _ in range(5 - len(STATE_ZIPS.get(state, "1"))))
    return PartyData(
        name=name,
        email=email,
        phone=f"({rng.randint(201, 989)}) 555-01{rng.randint(0, 99):02d}",
        postal_address=f"{fake.street_address()}\n{fake.city()}, {state or 'NY'} {postal_code}",
        postal_code=postal_code,
        state=state,
    )


def load_demo(
    desk: Desk,
    cases: int = 300,
    seed: int = 2026,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Fill an empty case database with staff and ``cases`` cases received over ~5 months."""
    rng = random.Random(seed)
    fake = Faker(["en_US", "es_MX"])
    fake.seed_instance(seed)
    real_clock = desk.clock
    end = today or real_clock.today()
    desks = {desk.username: desk}
    for username, role in STAFF:
        if username not in {u.username for u in desk.list_users()}:
            desk.add_user(username, role, username.replace(".", " ").title())
        if username != desk.username:
            desks[username] = desk.as_user(username)
    staff = list(desks)
    received_days = sorted(rng.randint(0, 150) for _ in range(cases))[::-1]

    last = [datetime.min]

    def at(day: date, hour: int) -> Clock:
        """Office hours on ``day``, never before the previous step of the same case."""
        offset = timedelta(hours=min(hour, 23), minutes=rng.randint(0, 59))
        moment = max(real_clock.start_of_local_day(day) + offset,
                     last[0] + timedelta(minutes=rng.randint(5, 40)))
        last[0] = moment
        return real_clock.at(moment)

    for index, age in enumerate(received_days):
        received = end - timedelta(days=age)
        jurisdiction = str(_pick(rng, JURISDICTION_MIX))
        types = _pick(rng, TYPE_SETS)
        assert isinstance(types, tuple)
        channel = str(_pick(rng, CHANNEL_MIX))
        requester = _person(fake, rng, jurisdiction if jurisdiction != "EU" else "")
        subject = None
        if rng.random() < 0.06 and "other" not in types:  # a parent writes about a child
            child_age = rng.randint(7, 12)
            subject = PartyData(name=f"{fake.first_name()} {requester.name.split()[-1]}",
                                age=child_age, is_child=True, state=requester.state)
            requester = PartyData(**{**requester.__dict__, "relationship": "parent"})
            types = ("delete",)
        elif rng.random() < 0.05 and "other" not in types:  # an authorized agent
            subject = _person(fake, rng, requester.state)
            requester = PartyData(name=f"{fake.company()} Privacy Agents",
                                  email=f"requests{rng.randint(1, 9)}@agent.example",
                                  relationship="authorized_agent", state=requester.state)
        owner = rng.choice(staff)
        worker = desks[owner]
        # Post reaches the desk a few days after it arrived at the PO box.
        entered = min(received + timedelta(days=rng.randint(1, 4)), end) if (
            channel == "postal") else received
        last[0] = datetime.min  # a new case: its own timeline
        worker.set_clock(at(entered, rng.randint(9, 16)))
        summary = rng.choice(SUMMARIES[types[0]])
        case = worker.create_case(NewCase(
            channel=channel, request_types=types, requester=requester, subject=subject,
            jurisdiction=jurisdiction or None, received_on=received, summary=summary,
            language="es" if summary.startswith("Borre") else "en",
            assignee=owner if rng.random() < 0.8 else None,
        )).case
        # Four eyes: a deletion is approved by a supervisor other than who worked it.
        approver = desks["dan.cho"] if owner != "dan.cho" else desks[
            next(name for name in staff if name != owner)]
        methods = desk.rules.workflow.verification
        method_choices = (methods.child_methods if case.is_child else
                          methods.agent_methods if case.via_agent else VERIFICATION_METHODS[:3])
        _advance(case.ref, types, age, entered, end, worker, approver, rng, at,
                 method_choices)
        if progress:
            progress(index + 1, cases)
    for each in desks.values():
        each.set_clock(real_clock)
    return DemoResult(cases=cases, users=tuple(staff))


def _advance(ref: str, types: tuple[str, ...], age: int, entered: date, end: date,
             worker: Desk, approver: Desk, rng: random.Random,
             at: Callable[[date, int], Clock], methods: tuple[str, ...]) -> None:
    """Take a case as far through the workflow as a desk would have by now."""
    day = entered
    opt_out_only = set(types) <= {"opt_out_marketing", "opt_out_sale_share", "limit_sensitive",
                                  "other"}

    def step(desk: Desk, name: str, gap: int, reason: str = "", method: str = "") -> bool:
        nonlocal day
        next_day = min(day + timedelta(days=gap), end)
        desk.set_clock(at(next_day, rng.randint(9, 16)))
        try:
            desk.take_step(ref, StepRequest(step=name, reason=reason, method=method))
        except UserError:
            return False
        day = next_day
        return True

    # How far along: older cases are further on; a few stall or end early.
    budget = age + rng.randint(-5, 5)
    if opt_out_only:  # 10-15 business-day clocks: these move three times as fast
        budget *= 3
    if rng.random() < 0.03:  # stalled work: these are the desk's overdue cases
        budget = min(budget, rng.randint(8, 24))
    if budget < 2:
        return
    if rng.random() < 0.03:
        step(worker, "withdraw", 3, reason="Requester withdrew the request by phone.")
        return
    if rng.random() < 0.04 and budget > 5:
        step(worker, "deny", 4, reason="Request not made by a consumer (business contact).")
        return
    step(worker, "acknowledge", rng.randint(0, 3))
    if budget < 6:
        return
    if opt_out_only:
        step(worker, "skip_verification", 1)
    else:
        step(worker, "start_verification", 1)
        if budget < 12:
            return
        if rng.random() < 0.2:
            step(worker, "request_information", 2,
                 reason="Please confirm the email address and ZIP code on your account.")
            if budget < 25 or rng.random() < 0.3:
                if budget > 35:
                    step(worker, "close_unverified", 20,
                         reason="No reply to the verification request within 20 days.")
                return
            step(worker, "information_received", rng.randint(3, 10))
        step(worker, "verify", 2, method=rng.choice(methods))
    if budget < 20:
        if rng.random() < 0.1:
            step(worker, "hold", 1, reason="Waiting for the dealer to answer about shared data.")
        return
    if budget > 40 and rng.random() < 0.12 and not opt_out_only:
        worker.set_clock(at(min(day + timedelta(days=3), end), 14))
        with contextlib.suppress(UserError):
            worker.extend(ref, "Records held by several affiliates must be searched.")
    step(worker, "submit_for_review", rng.randint(5, 15))
    if budget < 30:
        return
    step(approver, "approve_and_send", rng.randint(1, 4))
    if budget < 40:
        return
    step(worker, "close", rng.randint(2, 6))


# --- the demo customer systems (records) ---------------------------------------------------


@dataclass(frozen=True)
class DemoSystemsSetup:
    database: Path
    sources_file: Path
    built: DemoSystems | None
    """None when the database was there already (it is never replaced)."""
    wrote_sources: bool
    """False when a sources file was there already (it is never replaced)."""


def demo_sources_text(data_dir: Path) -> str:
    """resources/sources.example.toml with ``{data_dir}`` filled in its url lines."""
    example = (resources_dir() / "sources.example.toml").read_text(encoding="utf-8")
    folder = data_dir.as_posix().replace("\\", "\\\\").replace('"', '\\"')
    filled = re.sub(r'(?m)^(url = ".*?)\{data_dir\}', lambda m: m.group(1) + folder, example)
    return ("# Written by `caseapp init --demo` for the demo customer database; edit it to\n"
            "# point at the real systems.\n" + filled)


def install_demo_systems(paths: Paths, customers: int | None = None, seed: int = 2026,
                         progress: Callable[[int, int], None] | None = None
                         ) -> DemoSystemsSetup:
    """Build the demo customer database and write a sources file for it, each only if
    it does not exist yet (a real sources file or a grown database is never replaced)."""
    database = paths.data_dir / DEMO_DB_NAME
    built = None
    if not database.exists():
        built = build_demo_systems(database, customers=customers or DEFAULT_CUSTOMERS,
                                   seed=seed, progress=progress)
    sources_file = paths.sources_file
    wrote = False
    if not sources_file.exists():
        sources_file.parent.mkdir(parents=True, exist_ok=True)
        sources_file.write_text(demo_sources_text(paths.data_dir), encoding="utf-8")
        wrote = True
    load_sources(sources_file)  # what was written (or found) must load
    return DemoSystemsSetup(database=database, sources_file=sources_file, built=built,
                            wrote_sources=wrote)


# What each planted demo person asks, so the demo desk has cases whose records exist.
PLANTED_REQUESTS = (
    (("delete",), "email", "Please delete my account and everything you hold about me, "
     "including my saved car configurations."),
    (("delete",), "email", "My son Tyler (11) signed up for your Kids Club without asking "
     "me. Please delete his information."),
    (("access",), "postal", "I want a copy of the personal information you hold about me."),
)


def open_planted_cases(desk: Desk, people: Sequence[PlantedPerson] = DEMO_PEOPLE,
                       today: date | None = None) -> tuple[str, ...]:
    """One acknowledged case per planted person (received a few days ago); their refs."""
    end = today or desk.clock.today()
    refs = []
    for index, person in enumerate(people):
        types, channel, summary = PLANTED_REQUESTS[index % len(PLANTED_REQUESTS)]
        address = person.address
        requester = PartyData(
            name=f"{person.first_name} {person.last_name}", email=person.email,
            phone=person.phone, postal_code=address.postal_code, state=address.state,
            postal_address=f"{address.street}\n{address.city}, {address.state} "
                           f"{address.postal_code}",
            relationship="parent" if person.child_first_name else "self")
        subject = None
        if person.child_first_name:
            subject = PartyData(name=f"{person.child_first_name} {person.last_name}",
                                is_child=True, age=person.child_age, state=address.state)
        case = desk.create_case(NewCase(
            channel=channel, request_types=types, requester=requester, subject=subject,
            received_on=end - timedelta(days=3 + index), summary=summary)).case
        with contextlib.suppress(UserError):
            desk.take_step(case.ref, StepRequest(step="acknowledge"))
        refs.append(case.ref)
    return tuple(refs)
