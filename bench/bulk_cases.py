"""Fill a case database with many synthetic cases fast (bulk inserts, not services).

Used by the benchmarks to reach DESIGN.md's scale (100,000 cases). The rows are shaped
like real ones (parties, request types, deadlines from the real rules) but skip the
per-case audit chain, which the benchmarks do not read.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select

from caseapp.db.models import Case, CaseRequestType, Party, RefCounter, User
from caseapp.services import Desk
from caseapp.vocabulary import CHANNELS, REQUEST_TYPES
from caseapp.workflow.deadlines import compute_deadlines

FIRST = ["Ana", "José", "Zoë", "Liam", "Mia", "Noah", "Emma", "Lucas", "Sofía", "Ethan",
         "Chloé", "Mateo", "Ava", "Kenji", "Priya", "Omar", "Grace", "Diego", "Hana", "Leo"]
LAST = ["Núñez", "Smith", "Ågren", "Johnson", "García", "Brown", "Nguyen", "Miller", "Patel",
        "Davis", "O'Brien", "Martínez", "Kim", "Lopez", "Wilson", "Chen", "Taylor", "Silva"]


def bulk_cases(desk: Desk, count: int, seed: int = 7, today: date | None = None,
               batch: int = 5000) -> None:
    rng = random.Random(seed)
    end = today or desk.clock.today()
    rules = desk.rules.jurisdictions
    workflow = desk.rules.workflow
    open_states, closed_states = list(workflow.open_states), list(workflow.closed_states)
    codes = [*rules.codes, "DEFAULT"]
    with desk.db.session() as session:
        user_ids = list(session.scalars(select(User.id)))
        counter = session.get(RefCounter, end.year)
        start = counter.last if counter else 0
        now = datetime.now()
        for first in range(0, count, batch):
            cases, parties, types = [], [], []
            base_id = (session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0)
            for offset in range(min(batch, count - first)):
                case_id = base_id + offset + 1
                number = start + first + offset + 1
                received = end - timedelta(days=rng.randint(0, 700))
                jurisdiction = rng.choice(codes)
                chosen = rng.sample(REQUEST_TYPES[:6], rng.choice((1, 1, 1, 2)))
                deadlines = compute_deadlines(rules, jurisdiction, chosen, received)
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                cases.append({
                    "id": case_id, "ref": f"PR-{end.year}-{number:05d}",
                    # A desk's history: requests older than ~2 months are nearly all decided.
                "channel": rng.choice(CHANNELS),
                "status": rng.choice(closed_states if (end - received).days > 60
                                     and rng.random() < 0.98 else open_states),
                    "jurisdiction": jurisdiction, "is_privacy_request": True,
                    "is_child": rng.random() < 0.03, "via_agent": False,
                    "subject_is_requester": True, "priority": rng.choice((0, 1, 2, 2, 2, 3)),
                    "language": "en", "summary": "Synthetic request for benchmarks",
                    "received_at": datetime.combine(received, datetime.min.time()),
                    "received_on": received, "acknowledge_by": deadlines.acknowledge_by,
                    "due_on": deadlines.respond_by, "original_due_on": deadlines.respond_by,
                    "paused_days": 0, "created_at": now, "updated_at": now,
                    "created_by": "bench", "version": 1,
                    "assignee_id": rng.choice([*user_ids, None]),
                })
                parties.append({
                    "case_id": case_id, "role": "requester", "name": name,
                    "email": f"{name.lower().replace(' ', '.')}{number}@example.com",
                    "phone": f"555-01{number % 100:02d}", "postal_address": "",
                    "postal_code": f"{rng.randint(10000, 99999)}", "state": jurisdiction[:2],
                    "is_child": False, "relationship_to_subject": "self",
                })
                types.extend({"case_id": case_id, "request_type": t} for t in chosen)
            session.execute(insert(Case), cases)
            session.execute(insert(Party), parties)
            session.execute(insert(CaseRequestType), types)
        if counter is None:
            session.add(RefCounter(year=end.year, last=start + count))
        else:
            counter.last = start + count
        session.commit()
