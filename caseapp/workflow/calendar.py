"""Business days: Monday to Friday, less US federal holidays (observed dates)."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import holidays


class BusinessCalendar:
    """Counts business days; holiday sets are built once per year and then only read."""

    def __init__(self) -> None:
        self._by_year: dict[int, frozenset[date]] = {}
        self._lock = threading.Lock()

    def _holidays(self, year: int) -> frozenset[date]:
        found = self._by_year.get(year)
        if found is None:
            with self._lock:
                found = frozenset(holidays.country_holidays("US", years=year, observed=True).keys())
                self._by_year[year] = found
        return found

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays(day.year)

    def add_business_days(self, start: date, count: int) -> date:
        """The date ``count`` business days after ``start`` (``start`` itself not counted)."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        remaining = count
        while remaining:
            day += timedelta(days=1)
            if self.is_business_day(day):
                remaining -= 1
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """Business days after ``start`` up to and including ``end`` (negative if end < start)."""
        if end < start:
            return -self.business_days_between(end, start)
        days = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_business_day(day):
                days += 1
        return days


US_FEDERAL = BusinessCalendar()
