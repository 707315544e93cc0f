"""The corridor's time-of-use calendars, from the published provincial notices
(``apps/demo/data/corridor.json``, sources in its ``tou_schedule``).

- ``hebei_south`` (河北南网): 冀发改能价〔2025〕1115号. Its exact start date was not found; it is
  taken to be in force from 2025-01-01.
- ``shanxi`` (国网山西): 晋发改商品发〔2021〕479号 from 2022-01-05 (year-round windows; the sharp
  hours of January, July, August and December apply to large-industry users, which a swap
  station with a 2,000 kVA connection is), then 晋发改商品发〔2026〕15号 with seasonal windows
  from 2026-05-01.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from apps.billing.tou import Calendar, Schedule, schedule_from_windows

CORRIDOR_FILE = Path(__file__).resolve().parent.parent / "demo" / "data" / "corridor.json"


@dataclass(frozen=True)
class CalendarVersion:
    zone: str
    effective_from: date
    policy: str
    seasons: dict[str, Any]  # {"winter": {"months": [...], "windows": {"peak": [[7, 9]], ...}}}

    @property
    def schedule(self) -> Schedule:
        return schedule_from_windows(self.seasons)


def _seasons(raw: dict[str, Any]) -> dict[str, Any]:
    return {name: {"months": spec["months"], "windows": spec["windows"]} for name, spec in raw.items()}


@cache
def corridor_calendar_versions() -> tuple[CalendarVersion, ...]:
    tou = json.loads(CORRIDOR_FILE.read_text(encoding="utf-8"))["tou_schedule"]
    hebei, shanxi = tou["hebei_south"], tou["shanxi"]
    return (
        CalendarVersion("hebei_south", date(2025, 1, 1), hebei["policy"], _seasons(hebei["seasons"])),
        CalendarVersion("shanxi", date(2022, 1, 5), shanxi["policy"], _seasons(shanxi["seasons"])),
        CalendarVersion(
            "shanxi", date(2026, 5, 1), shanxi["from_2026_05_01"]["policy"], _seasons(shanxi["from_2026_05_01"]["seasons"])
        ),
    )


def corridor_calendar(zone: str) -> Calendar:
    return Calendar.of(zone, [(v.effective_from, v.schedule) for v in corridor_calendar_versions() if v.zone == zone])
