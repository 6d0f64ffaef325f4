"""Business days and legal deadlines: hand-checked dates, then properties over a century.

The dates a compliance officer checks by hand against a wall calendar come first; the
hypothesis properties then hold the engine to the rules for any received date
2000–2099, any mix of request types and any jurisdiction code staff may type.
"""

from __future__ import annotations

import calendar as month_calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseapp.services import Rules
from caseapp.vocabulary import REQUEST_TYPES
from caseapp.workflow.calendar import US_FEDERAL, BusinessCalendar
from caseapp.workflow.deadlines import add_months, compute_deadlines
from caseapp.workflow.jurisdictions import Jurisdictions, parse_jurisdictions

RULES = Rules.load().jurisdictions
CODES = (*RULES.codes, "DEFAULT")
US_45_DAY_STATES = ("CA", "VA", "CO", "CT", "UT", "TX", "OR")

received_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
type_sets = st.lists(st.sampled_from(REQUEST_TYPES), min_size=1, max_size=4, unique=True).map(
    tuple)
# What staff may type as a state: known codes, lower case, blanks and unknown ones.
jurisdiction_codes = st.one_of(
    st.sampled_from(CODES), st.sampled_from(["ca", " va ", "", "ZZ", "NY", "Calif"])
)
DEADLINE_SETTINGS = settings(max_examples=150, deadline=None)


def due(code: str, types: tuple[str, ...], received: date, **kwargs: object) -> date:
    return compute_deadlines(RULES, code, types, received, **kwargs).respond_by  # type: ignore[arg-type]


# --- the business calendar ------------------------------------------------------------

@pytest.mark.parametrize(
    ("holiday", "name"),
    [
        (date(2026, 1, 1), "New Year's Day"),
        (date(2026, 1, 19), "Martin Luther King Jr. Day"),
        (date(2026, 2, 16), "Washington's Birthday"),
        (date(2026, 5, 25), "Memorial Day"),
        (date(2026, 6, 19), "Juneteenth"),
        (date(2026, 7, 3), "Independence Day observed (July 4 is a Saturday)"),
        (date(2026, 9, 7), "Labor Day"),
        (date(2026, 10, 12), "Columbus Day"),
        (date(2026, 11, 11), "Veterans Day"),
        (date(2026, 11, 26), "Thanksgiving"),
        (date(2026, 12, 25), "Christmas"),
        (date(2027, 12, 24), "Christmas observed (Dec 25 is a Saturday)"),
        (date(2027, 12, 31), "New Year's Day 2028 observed (Jan 1 is a Saturday)"),
        (date(2027, 7, 5), "Independence Day observed (July 4 is a Sunday)"),
    ],
)
def test_us_federal_holidays_are_not_business_days(holiday: date, name: str) -> None:
    assert holiday.weekday() < 5, "the examples are all weekdays"
    assert not US_FEDERAL.is_business_day(holiday), name


def test_ordinary_weekdays_are_business_days_and_weekends_are_not() -> None:
    assert US_FEDERAL.is_business_day(date(2026, 3, 4))  # Wednesday
    assert US_FEDERAL.is_business_day(date(2026, 7, 2))  # Thursday before the observed 4th
    assert US_FEDERAL.is_business_day(date(2026, 11, 27))  # the Friday after Thanksgiving
    assert not US_FEDERAL.is_business_day(date(2026, 3, 7))  # Saturday
    assert not US_FEDERAL.is_business_day(date(2026, 3, 8))  # Sunday


def test_ten_business_days_from_the_friday_before_thanksgiving() -> None:
    # Nov 23, 24, 25, (26 Thanksgiving), 27, 30, Dec 1, 2, 3, 4, 7.
    assert US_FEDERAL.add_business_days(date(2026, 11, 20), 10) == date(2026, 12, 7)
    assert US_FEDERAL.business_days_between(date(2026, 11, 20), date(2026, 12, 7)) == 10
    assert US_FEDERAL.business_days_between(date(2026, 12, 7), date(2026, 11, 20)) == -10


def test_the_observed_fourth_of_july_and_the_weekend_are_skipped() -> None:
    # Thursday July 2 → (Fri 3 observed, Sat 4, Sun 5) → Monday July 6.
    assert US_FEDERAL.add_business_days(date(2026, 7, 2), 1) == date(2026, 7, 6)
    # Friday → Monday.
    assert US_FEDERAL.add_business_days(date(2026, 3, 6), 1) == date(2026, 3, 9)
    # A request arriving on a Saturday: the count starts on Monday.
    assert US_FEDERAL.add_business_days(date(2026, 3, 7), 1) == date(2026, 3, 9)


def test_the_year_end_observed_new_year_is_skipped() -> None:
    # Thu Dec 30 2027 → (Fri 31 observed New Year 2028, weekend) → Mon Jan 3 2028.
    assert US_FEDERAL.add_business_days(date(2027, 12, 30), 1) == date(2028, 1, 3)


def test_zero_business_days_is_the_same_day_and_negative_counts_are_refused() -> None:
    assert US_FEDERAL.add_business_days(date(2026, 3, 7), 0) == date(2026, 3, 7)
    with pytest.raises(ValueError):
        US_FEDERAL.add_business_days(date(2026, 3, 7), -1)


@settings(max_examples=200, deadline=None)
@given(start=received_dates, count=st.integers(min_value=1, max_value=40))
def test_adding_business_days_lands_on_the_first_day_with_that_count(start: date,
                                                                     count: int) -> None:
    cal = BusinessCalendar()  # a fresh cache, so the cache itself is exercised too
    end = cal.add_business_days(start, count)
    assert cal.is_business_day(end)
    assert cal.business_days_between(start, end) == count
    assert cal.business_days_between(start, end - timedelta(days=1)) == count - 1
    # Weekends and holidays only ever add days, and never more than a long weekend each.
    assert count <= (end - start).days <= 2 * count + 4


# --- hand-checked deadlines -----------------------------------------------------------

def test_a_california_deletion_received_on_the_desk_s_fixed_day() -> None:
    found = compute_deadlines(RULES, "CA", ("delete",), date(2026, 3, 4))
    assert found.acknowledge_by == date(2026, 3, 18)  # 10 business days, 11 CCR §7021(a)
    assert found.respond_by == date(2026, 4, 18)  # 45 calendar days, §7021(b)
    assert found.original_respond_by == date(2026, 4, 18)
    assert found.extension_possible and not found.extended
    extended = compute_deadlines(RULES, "CA", ("delete",), date(2026, 3, 4), extended=True)
    assert extended.respond_by == date(2026, 6, 2)  # 90 days in all
    assert extended.original_respond_by == date(2026, 4, 18)
    assert any("11 CCR §7021(b)" in source for source in extended.sources)


def test_a_california_opt_out_of_sale_is_due_in_15_business_days_without_extension() -> None:
    found = compute_deadlines(RULES, "CA", ("opt_out_sale_share",), date(2026, 3, 4))
    assert found.respond_by == date(2026, 3, 25)
    assert not found.extension_possible
    extended = compute_deadlines(RULES, "CA", ("opt_out_sale_share",), date(2026, 3, 4),
                                 extended=True)
    assert extended.respond_by == date(2026, 3, 25)


def test_an_opt_out_over_thanksgiving() -> None:
    # Received Fri Nov 20 2026: 15 business days skip Thanksgiving → Dec 14.
    assert due("CA", ("opt_out_sale_share",), date(2026, 11, 20)) == date(2026, 12, 14)


def test_a_mixed_case_is_due_on_its_earliest_type_and_cannot_be_extended_past_it() -> None:
    found = compute_deadlines(RULES, "CA", ("delete", "opt_out_sale_share"), date(2026, 3, 4))
    assert found.respond_by == date(2026, 3, 25)
    # The opt-out part is due first and has no extension: extending moves nothing.
    assert not found.extension_possible


def test_an_email_unsubscribe_follows_can_spam_everywhere() -> None:
    for code in ("CA", "VA", "EU", "ZZ"):
        found = compute_deadlines(RULES, code, ("opt_out_marketing",), date(2026, 3, 4))
        assert found.respond_by == date(2026, 3, 18), code  # 10 business days
        assert not found.extension_possible


@pytest.mark.parametrize(
    ("received", "respond", "extended"),
    [
        # Three months from receipt (Art. 12(3)), not two months after the clamped first.
        (date(2026, 1, 31), date(2026, 2, 28), date(2026, 4, 30)),
        (date(2028, 1, 31), date(2028, 2, 29), date(2028, 4, 30)),  # leap year
        (date(2026, 11, 30), date(2026, 12, 30), date(2027, 2, 28)),
        (date(2026, 3, 31), date(2026, 4, 30), date(2026, 6, 30)),
        (date(2026, 3, 4), date(2026, 4, 4), date(2026, 6, 4)),
        (date(2026, 12, 15), date(2027, 1, 15), date(2027, 3, 15)),
    ],
)
def test_gdpr_one_month_and_two_more_with_month_end_clamping(
    received: date, respond: date, extended: date
) -> None:
    found = compute_deadlines(RULES, "EU", ("access",), received)
    assert found.respond_by == respond
    assert found.acknowledge_by is not None  # the desk acknowledges everything
    assert due("EU", ("access",), received, extended=True) == extended


def test_an_appeal_runs_on_its_own_clock() -> None:
    assert due("VA", ("appeal",), date(2026, 3, 4)) == date(2026, 5, 3)  # 60 days
    # ... with no extension: Va. Code §59.1-577(C) gives 60 days, full stop.
    assert due("VA", ("appeal",), date(2026, 3, 4), extended=True) == date(2026, 5, 3)
    assert not compute_deadlines(RULES, "VA", ("appeal",), date(2026, 3, 4)).extension_possible
    assert due("CO", ("appeal",), date(2026, 3, 4)) == date(2026, 4, 18)  # 45 days
    assert due("EU", ("appeal",), date(2026, 1, 31)) == date(2026, 2, 28)


def test_an_unknown_or_blank_jurisdiction_uses_the_house_default() -> None:
    for code in ("", "ZZ", "new york"):
        assert RULES.normalize(code) == "DEFAULT"
        assert due(code, ("access",), date(2026, 3, 4)) == date(2026, 4, 18)
    assert RULES.normalize(" ca ") == "CA"


# --- properties -----------------------------------------------------------------------

@DEADLINE_SETTINGS
@given(received=received_dates, types=type_sets, code=jurisdiction_codes,
       extended=st.booleans(), paused=st.integers(min_value=0, max_value=400))
def test_no_deadline_falls_before_the_request_arrived(
    received: date, types: tuple[str, ...], code: str, extended: bool, paused: int
) -> None:
    found = compute_deadlines(RULES, code, types, received, extended=extended,
                              paused_days=paused)
    assert found.respond_by >= found.original_respond_by >= received
    assert found.respond_by > received
    assert found.acknowledge_by is not None and found.acknowledge_by > received
    assert US_FEDERAL.is_business_day(found.acknowledge_by)
    assert len(found.sources) >= len(types)
    if not extended:
        assert found.respond_by == found.original_respond_by


@DEADLINE_SETTINGS
@given(received=received_dates, types=type_sets)
def test_california_acknowledges_within_exactly_ten_business_days(
    received: date, types: tuple[str, ...]
) -> None:
    acknowledge_by = compute_deadlines(RULES, "CA", types, received).acknowledge_by
    assert acknowledge_by is not None
    assert US_FEDERAL.is_business_day(acknowledge_by)
    assert US_FEDERAL.business_days_between(received, acknowledge_by) == 10
    assert US_FEDERAL.business_days_between(received, acknowledge_by - timedelta(days=1)) == 9


@DEADLINE_SETTINGS
@given(received=received_dates, code=st.sampled_from(US_45_DAY_STATES),
       request_type=st.sampled_from(("access", "delete", "correct")))
def test_us_states_respond_in_45_days_and_extend_once_by_45(
    received: date, code: str, request_type: str
) -> None:
    first = due(code, (request_type,), received)
    assert first == received + timedelta(days=45)
    assert due(code, (request_type,), received, extended=True) == first + timedelta(days=45)


@DEADLINE_SETTINGS
@given(received=received_dates)
def test_california_opt_out_of_sale_is_15_business_days_and_never_extended(
    received: date
) -> None:
    found = compute_deadlines(RULES, "CA", ("opt_out_sale_share",), received)
    assert US_FEDERAL.is_business_day(found.respond_by)
    assert US_FEDERAL.business_days_between(received, found.respond_by) == 15
    assert US_FEDERAL.business_days_between(
        received, found.respond_by - timedelta(days=1)) == 14
    assert not found.extension_possible
    assert due("CA", ("opt_out_sale_share",), received, extended=True) == found.respond_by


def _months_later(start: date, months: int) -> date:
    """Same day ``months`` later, or that month's last day (checked independently)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last = month_calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


@DEADLINE_SETTINGS
@given(received=received_dates, request_type=st.sampled_from(("access", "delete", "correct")))
def test_gdpr_is_one_month_extended_by_two_and_never_beyond_three(
    received: date, request_type: str
) -> None:
    first = due("EU", (request_type,), received)
    assert first == _months_later(received, 1)
    assert first.day == received.day or first.day == month_calendar.monthrange(
        first.year, first.month)[1]
    later = due("EU", (request_type,), received, extended=True)
    # One month extended by two further months: three months from receipt (Art. 12(3)).
    assert later == _months_later(received, 3)
    assert first < later


@DEADLINE_SETTINGS
@given(start=received_dates, months=st.integers(min_value=0, max_value=36))
def test_adding_months_clamps_to_the_month_end(start: date, months: int) -> None:
    assert add_months(start, months) == _months_later(start, months)


@DEADLINE_SETTINGS
@given(received=received_dates, types=type_sets, code=jurisdiction_codes,
       extended=st.booleans())
def test_a_case_with_several_types_is_due_on_the_earliest(
    received: date, types: tuple[str, ...], code: str, extended: bool
) -> None:
    each = [due(code, (t,), received, extended=extended) for t in types]
    assert due(code, types, received, extended=extended) == min(each)
    acknowledge = [compute_deadlines(RULES, code, (t,), received).acknowledge_by for t in types]
    found = compute_deadlines(RULES, code, types, received)
    assert found.acknowledge_by == min(a for a in acknowledge if a is not None)


@DEADLINE_SETTINGS
@given(received=received_dates, types=type_sets, code=jurisdiction_codes,
       extended=st.booleans())
def test_an_extension_is_offered_only_where_it_moves_the_due_date(
    received: date, types: tuple[str, ...], code: str, extended: bool
) -> None:
    found = compute_deadlines(RULES, code, types, received)
    with_extension = due(code, types, received, extended=True)
    assert found.extension_possible == (with_extension > found.respond_by)
    assert with_extension >= found.respond_by


def _rules_with_paused_clock() -> Jurisdictions:
    source = "test"
    return parse_jurisdictions({
        "default": {
            "name": "Default",
            "respond": {"days": 45, "unit": "calendar_days", "source": source},
            "extension": {"days": 45, "unit": "calendar_days", "source": source},
            "hold_pauses_clock": False,
        },
        "jurisdictions": {
            "PZ": {"name": "Paused", "hold_pauses_clock": True,
                   "respond": {"days": 30, "unit": "business_days", "source": source}},
        },
    })


PAUSING = _rules_with_paused_clock()


@DEADLINE_SETTINGS
@given(received=received_dates, types=type_sets, code=jurisdiction_codes,
       paused=st.integers(min_value=1, max_value=200), extended=st.booleans())
def test_time_on_hold_never_moves_the_shipped_deadlines(
    received: date, types: tuple[str, ...], code: str, paused: int, extended: bool
) -> None:
    # hold_pauses_clock is false in every shipped jurisdiction (11 CCR §7021(b): the
    # period runs regardless of the time verification takes).
    assert due(code, types, received, paused_days=paused, extended=extended) == due(
        code, types, received, extended=extended)


@DEADLINE_SETTINGS
@given(received=received_dates, types=type_sets, paused=st.integers(min_value=0, max_value=200),
       extended=st.booleans())
def test_time_on_hold_is_added_back_where_the_rules_pause_the_clock(
    received: date, types: tuple[str, ...], paused: int, extended: bool
) -> None:
    base = compute_deadlines(PAUSING, "PZ", types, received, extended=extended)
    held = compute_deadlines(PAUSING, "PZ", types, received, extended=extended,
                             paused_days=paused)
    assert held.original_respond_by == base.original_respond_by + timedelta(days=paused)
    assert held.respond_by >= base.respond_by + timedelta(days=paused)
    # ... and not in a jurisdiction of the same file that does not pause.
    assert compute_deadlines(PAUSING, "ZZ", types, received, paused_days=paused).respond_by == (
        compute_deadlines(PAUSING, "ZZ", types, received).respond_by)
