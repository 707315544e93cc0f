"""Time-of-use calendars: which tariff period (sharp, peak, flat, valley, deep valley) an
instant falls in, by zone, season and hour, in Asia/Shanghai.

Pure data and functions; the database keeps versions (``models.TouCalendarVersion``) and a new
version applies from its effective date on, so it never changes a bill of an earlier time.
Windows are whole hours and half-open: ``[16, 24)`` is 16:00 up to, not including, midnight.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

LOCAL_TIME = ZoneInfo("Asia/Shanghai")


class Period(StrEnum):
    SHARP = "sharp"
    PEAK = "peak"
    FLAT = "flat"
    VALLEY = "valley"
    DEEP_VALLEY = "deep_valley"


PERIOD_ORDER = tuple(Period)


class CalendarError(ValueError):
    """A calendar whose windows overlap, leave gaps, or miss months."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Season:
    name: str
    months: frozenset[int]
    hourly: tuple[Period, ...]  # 24 entries: hourly[h] is the period of h:00 to h+1:00


@dataclass(frozen=True)
class Schedule:
    """One version of a zone's calendar: seasons that together cover the twelve months."""

    seasons: tuple[Season, ...]

    def period_at(self, moment: datetime) -> Period:
        local = moment.astimezone(LOCAL_TIME)
        for season in self.seasons:
            if local.month in season.months:
                return season.hourly[local.hour]
        raise CalendarError("calendar_incomplete", f"no season covers month {local.month}")


def schedule_from_windows(seasons: Mapping[str, Mapping[str, object]]) -> Schedule:
    """Build a schedule from ``{"winter": {"months": [12, 1, 2], "windows": {"peak": [[7, 9]], ...}}}``.

    Refuses overlapping windows, hours left without a period, unknown periods and months that
    belong to no season or to two.
    """
    built: list[Season] = []
    seen_months: dict[int, str] = {}
    for name, spec in seasons.items():
        months = frozenset(int(month) for month in spec["months"])  # type: ignore[attr-defined]
        for month in months:
            if not 1 <= month <= 12:
                raise CalendarError("calendar_invalid", f"season {name}: month {month} does not exist")
            if month in seen_months:
                raise CalendarError("calendar_overlap", f"month {month} is in both {seen_months[month]} and {name}")
            seen_months[month] = name
        hourly: list[Period | None] = [None] * 24
        windows = spec["windows"]
        for period_name, ranges in windows.items():  # type: ignore[attr-defined]
            try:
                period = Period(period_name)
            except ValueError:
                raise CalendarError("calendar_invalid", f"season {name}: unknown period {period_name!r}") from None
            for start, end in ranges:
                if not (0 <= start < end <= 24):
                    raise CalendarError("calendar_invalid", f"season {name}: window [{start}, {end}) is not within a day")
                for hour in range(start, end):
                    if hourly[hour] is not None:
                        raise CalendarError("calendar_overlap", f"season {name}: {hour}:00 is both {hourly[hour]} and {period}")
                    hourly[hour] = period
        gaps = [hour for hour, period in enumerate(hourly) if period is None]
        if gaps:
            raise CalendarError("calendar_gap", f"season {name}: no period for hours {', '.join(f'{h}:00' for h in gaps)}")
        built.append(Season(name, months, tuple(period for period in hourly if period is not None)))
    missing = sorted(set(range(1, 13)) - set(seen_months))
    if missing:
        raise CalendarError("calendar_gap", f"no season covers months {', '.join(map(str, missing))}")
    return Schedule(tuple(built))


@dataclass(frozen=True)
class Calendar:
    """A zone's schedule versions, each in force from its effective date (local) on."""

    zone: str
    versions: tuple[tuple[date, Schedule], ...]  # sorted by date

    @classmethod
    def of(cls, zone: str, versions: Iterable[tuple[date, Schedule]]) -> Calendar:
        return cls(zone, tuple(sorted(versions, key=lambda version: version[0])))

    def schedule_at(self, moment: datetime) -> Schedule:
        day = moment.astimezone(LOCAL_TIME).date()
        index = bisect_right([effective for effective, _ in self.versions], day) - 1
        if index < 0:
            raise CalendarError("calendar_not_in_force", f"no {self.zone} calendar is in force on {day}")
        return self.versions[index][1]

    def period_at(self, moment: datetime) -> Period:
        return self.schedule_at(moment).period_at(moment)

    def pieces(self, start: datetime, end: datetime) -> list[tuple[Period, timedelta]]:
        """Cut ``[start, end)`` at every local hour boundary: how long it spends in each period.

        Hour boundaries are the only places a period (or a season or version, which change at
        local midnight) can change, so each piece lies in exactly one period.
        """
        pieces: list[tuple[Period, timedelta]] = []
        cursor = start
        while cursor < end:
            local = cursor.astimezone(LOCAL_TIME)
            next_hour = (local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(start.tzinfo)
            piece_end = min(next_hour, end)
            pieces.append((self.period_at(cursor), piece_end - cursor))
            cursor = piece_end
        return pieces


def hourly_periods(schedule: Schedule, month: int) -> Sequence[Period]:
    return next(season.hourly for season in schedule.seasons if month in season.months)
