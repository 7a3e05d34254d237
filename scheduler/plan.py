"""The reminder plan, as pure functions of rounds, settings and the time: which slots a
round has, when each is due, and which one a tick should send. No database, no messenger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.periods import ROUND_KINDS, DayMonth, RoundBoundaries

OVERDUE = "overdue"
ANNOUNCE = "start"  # an ad hoc round told to the units as soon as it is created


def clock_time(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    return time(hours, minutes)


@dataclass(frozen=True)
class RoundSpec:
    """What a round needs for planning (a storage Round satisfies it too)."""

    id: str
    kind: str
    start: date
    end: date
    deadline: date


def recurring_rounds(year: int, settings) -> list[RoundSpec]:
    """The 6-month and annual rounds of `year`: periods and deadlines from settings."""
    boundaries = RoundBoundaries.from_settings(settings)
    specs = []
    for kind in ROUND_KINDS:
        start, end = boundaries.span(kind, year)
        deadline = DayMonth.parse(getattr(settings, f"round_{kind.lower()}_deadline"))
        specs.append(RoundSpec(f"{year}-{kind}", kind, start, end, deadline.in_year(year)))
    return specs


def closes_at(deadline: date, settings, tz: ZoneInfo) -> datetime:
    """A round stays open until the end of its deadline day plus the grace period."""
    last_day = deadline + timedelta(days=settings.round_grace_days)
    return datetime.combine(last_day + timedelta(days=1), time(0), tz)


def is_open(deadline: date, now: datetime, settings) -> bool:
    return now < closes_at(deadline, settings, now.tzinfo)


@dataclass(frozen=True, order=True)
class Slot:
    due: datetime
    name: str  # "d7", "d3", "d1", "d0" or "overdue"

    @property
    def days_before(self) -> int | None:
        return int(self.name[1:]) if self.name.startswith("d") else None


def move_out_of_quiet_hours(moment: datetime, settings) -> datetime:
    """A time inside quiet hours (default 21:00–07:00) moves to the next morning's end."""
    quiet_start, quiet_end = (clock_time(t) for t in settings.quiet_hours)
    local = moment.timetz().replace(tzinfo=None)
    if quiet_start > quiet_end:  # spans midnight
        if local >= quiet_start:
            next_day = moment.date() + timedelta(days=1)
            return datetime.combine(next_day, quiet_end, moment.tzinfo)
        if local < quiet_end:
            return datetime.combine(moment.date(), quiet_end, moment.tzinfo)
    elif quiet_start <= local < quiet_end:
        return datetime.combine(moment.date(), quiet_end, moment.tzinfo)
    return moment


def announced_at(round_, tz: ZoneInfo) -> datetime | None:
    """When an ad hoc round was created (its units are told then); None for the others."""
    created = getattr(round_, "created_at", None)
    if round_.kind != "adhoc" or created is None:
        return None
    return created.replace(tzinfo=UTC).astimezone(tz)


def slots(
    deadline: date, settings, tz: ZoneInfo, announce_at: datetime | None = None
) -> list[Slot]:
    """Every reminder slot of a round with this deadline, in time order."""
    at = clock_time(settings.reminder_time)
    planned = [
        Slot(datetime.combine(deadline - timedelta(days=days), at, tz), f"d{days}")
        for days in sorted(set(settings.reminder_offsets_days), reverse=True)
    ]
    overdue_day = deadline + timedelta(days=settings.reminder_overdue_days)
    planned.append(Slot(datetime.combine(overdue_day, at, tz), OVERDUE))
    if announce_at is not None:
        planned.append(Slot(announce_at, ANNOUNCE))
    return sorted(Slot(move_out_of_quiet_hours(slot.due, settings), slot.name) for slot in planned)


def current_slot(
    deadline: date, now: datetime, settings, announce_at: datetime | None = None
) -> Slot | None:
    """The slot a tick at `now` should send: the latest one already due, provided the round
    is open and (for slots before the deadline) the deadline has not passed. Older missed
    slots are superseded by it, so a restart after downtime sends one reminder, not three."""
    if not is_open(deadline, now, settings):
        return None
    due = [slot for slot in slots(deadline, settings, now.tzinfo, announce_at) if slot.due <= now]
    if not due:
        return None
    latest = due[-1]
    deadline_over = now.date() > deadline
    if latest.name != OVERDUE and deadline_over:
        return None
    return latest


def days_left(deadline: date, today: date) -> int:
    return (deadline - today).days
