"""Time as the desk sees it.

Legal clocks count days at the desk, so "today" is the date in the desk's time zone
(the brand's US arm sits in New Jersey), while timestamps are stored in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "America/New_York"


@dataclass(frozen=True)
class Clock:
    """Source of the current time; tests and demo data use a fixed one."""

    timezone: str = DEFAULT_TIMEZONE
    fixed: datetime | None = None

    def now(self) -> datetime:
        """The current moment as a naive UTC datetime (how the database stores it)."""
        if self.fixed is not None:
            return self.fixed
        return datetime.now(UTC).replace(tzinfo=None)

    def today(self) -> date:
        """Today's date at the desk."""
        return self.local_date(self.now())

    def local_date(self, utc_naive: datetime) -> date:
        aware = utc_naive.replace(tzinfo=UTC)
        return aware.astimezone(ZoneInfo(self.timezone)).date()

    def start_of_local_day(self, day: date) -> datetime:
        """Midnight at the desk on ``day``, as naive UTC."""
        local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(UTC).replace(tzinfo=None)

    def at(self, moment: datetime) -> Clock:
        """A clock frozen at ``moment`` (naive UTC)."""
        return Clock(timezone=self.timezone, fixed=moment)

    def advanced(self, delta: timedelta) -> Clock:
        return self.at(self.now() + delta)
