"""The overview page, a round's page (every unit's status, reminders now, progress over
time) and a focal point's confirmation of a round."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from aiohttp import web

from bot.webui.charts import progress_line
from bot.webui.core import PREFIX, redirect, render, viewer_of, workspace
from domain.catalog import t
from domain.forms import load_forms
from domain.messages import QUEUED, SENT
from domain.rounds import round_label
from handlers.rounds import audit_round, confirm_unit, withdraw_unit
from scheduler.plan import days_left, is_open, recurring_rounds
from scheduler.reminders import Reminders
from storage import deliveries
from storage import rounds as store
from storage.models import Round
from storage.rounds import LastReminder, UnitProgress

# A "remind now" form carries a fresh nonce: its slot in the reminder log.
NONCE = re.compile(r"[0-9a-f]{12}")
MANUAL_SLOT = "now-{nonce}"


@dataclass(frozen=True)
class UnitRow:
    progress: UnitProgress
    status: str  # confirmed, nothing, changed, pending, no_focal
    focal_points: int
    reminder: LastReminder | None

    @property
    def pending(self) -> bool:
        return self.progress.confirmed_at is None


def unit_status(row: UnitProgress, focal_points: int) -> str:
    if row.confirmed_at is not None:
        if row.changed_since:
            return "changed"
        return "nothing" if row.nothing_to_report else "confirmed"
    return "pending" if focal_points else "no_focal"


async def _rounds(request: web.Request) -> list[Round]:
    """Rounds followed now (open ones and those whose deadline passed lately)."""
    ws = workspace(request)
    today = ws.now().date()
    async with ws.app.sessions() as db, db.begin():
        await store.ensure_rounds(db, recurring_rounds(today.year, ws.settings))
        return await store.followed_rounds(db, today, ws.settings.progress_days_after_deadline)


def _is_open(request: web.Request, round_: Round) -> bool:
    ws = workspace(request)
    return is_open(round_.deadline, ws.now(), ws.settings)


async def home(request: web.Request) -> web.Response:
    ws = workspace(request)
    person = viewer_of(request)
    rounds = await _rounds(request)
    today = ws.now().date()
    cards = []
    async with ws.app.sessions() as db:
        for round_ in reversed(rounds):
            card = {
                "round": round_, "label": round_label(round_.id, round_.message),
                "open": _is_open(request, round_), "days": days_left(round_.deadline, today),
            }  # fmt: skip
            if person.is_coordinator:
                rows = await store.progress(db, round_)
                card |= {"confirmed": sum(1 for r in rows if r.confirmed_at), "total": len(rows)}
            elif person.unit_id is not None:
                counts = await store.unit_counts(db, round_, person.unit_id)
                forms = load_forms()
                card |= {
                    "counts": [(forms[kind].label, n) for kind, n in counts.items()],
                    "total": sum(counts.values()),
                    "done": await store.confirmation(db, round_.id, person.unit_id),
                }
            cards.append(card)
    return render(request, "home.html.j2", {"cards": cards, "today": today})


async def round_or_404(request: web.Request) -> Round:
    ws = workspace(request)
    async with ws.app.sessions() as db:
        round_ = await db.get(Round, request.match_info["round_id"])
    if round_ is None:
        raise web.HTTPNotFound()
    return round_


async def round_page(request: web.Request) -> web.Response:
    ws = workspace(request)
    round_ = await round_or_404(request)
    async with ws.app.sessions() as db:
        progress = await store.progress(db, round_)
        focal = await store.focal_point_counts(db)
        reminders = await store.last_reminders(db, round_.id)
        confirmed_at = await store.confirmation_times(db, round_.id)
        unreached = await deliveries.unreached(db, round_.id)
    rows = [
        UnitRow(p, unit_status(p, focal.get(p.unit_id, 0)), focal.get(p.unit_id, 0),
                reminders.get(p.unit_id))
        for p in progress
    ]  # fmt: skip
    only_pending = request.query.get("loc") == "chua"
    shown = [row for row in rows if row.pending] if only_pending else rows
    today = ws.now().date()
    context = {
        "round": round_,
        "label": round_label(round_.id, round_.message),
        "rows": shown,
        "counts": {s: sum(1 for r in rows if r.status == s) for s in STATUS_ORDER},
        "total": len(rows),
        "pending": sum(1 for r in rows if r.pending),
        "only_pending": only_pending,
        "open": _is_open(request, round_),
        "days": days_left(round_.deadline, today),
        "nonce": secrets.token_hex(6),
        "chart": _progress_chart(round_, confirmed_at, len(rows), today, ws),
        "unreached": unreached,
    }
    return render(request, "round.html.j2", context)


STATUS_ORDER = ("confirmed", "nothing", "changed", "pending", "no_focal")


def _progress_chart(round_: Round, confirmed_at: list[datetime], units: int, today: date, ws):
    """Units confirmed, day by day, over the last weeks before the deadline."""
    first = max(round_.start, round_.deadline - timedelta(days=30))
    last = min(max(today, first), round_.deadline + timedelta(days=ws.settings.round_grace_days))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    local = sorted(ws.local_time(at)[:10] for at in confirmed_at)
    as_dates = [datetime.strptime(text, "%d/%m/%Y").date() for text in local]
    points = [(f"{d.day}/{d.month}", sum(1 for c in as_dates if c <= d)) for d in days]
    marker = None
    if first <= round_.deadline <= last:
        marker = ((round_.deadline - first).days, t("web.chart.deadline"))
    title = t("web.chart.progress", units=units)
    return progress_line("progress", title, points, units, marker)


async def remind(request: web.Request) -> web.StreamResponse:
    """Remind the focal points of one pending unit, or of all, now."""
    ws = workspace(request)
    person = viewer_of(request)
    round_ = await round_or_404(request)
    form = await request.post()
    nonce = str(form.get("nonce", ""))
    unit = str(form.get("unit_id", ""))
    if not NONCE.fullmatch(nonce) or not (unit == "" or unit.isdigit()):
        raise web.HTTPBadRequest()
    back = f"{PREFIX}/rounds/{round_.id}"
    if not _is_open(request, round_):
        raise redirect(back, "round_closed")
    unit_ids = {int(unit)} if unit else None
    slot = MANUAL_SLOT.format(nonce=nonce)
    reminders = Reminders(
        ws.app.sessions, ws.settings, ws.deliver, ws.now, set(ws.app.engine.queued_channels)
    )
    outcomes = await reminders.remind_now(round_, slot, unit_ids)
    async with ws.app.sessions() as db, db.begin():
        await audit_round(
            db, person.member_id, "remind", round_.id, int(unit) if unit else None,
            {"slot": slot, "sent": sum(o in (SENT, QUEUED) for o in outcomes)}, "web",
        )  # fmt: skip
    sent = sum(o in (SENT, QUEUED) for o in outcomes)  # queued: the outbox sends it now
    failed = sum(1 for o in outcomes if o is not None and o not in (SENT, QUEUED))
    raise redirect(back, "reminded", sent=sent, failed=failed)


async def confirm(request: web.Request) -> web.StreamResponse:
    """A focal point confirms (or withdraws) their unit's report for an open round."""
    ws = workspace(request)
    person = viewer_of(request)
    round_ = await round_or_404(request)
    action = str((await request.post()).get("action", ""))
    if person.unit_id is None or action not in ("done", "nothing", "withdraw"):
        raise web.HTTPBadRequest()
    if not _is_open(request, round_):
        raise redirect(f"{PREFIX}/", "round_closed")
    async with ws.app.sessions() as db, db.begin():
        if action == "withdraw":
            if ws.now().date() > round_.deadline:
                raise redirect(f"{PREFIX}/", "too_late")
            await withdraw_unit(db, round_.id, person.unit_id, person.member_id, "web")
            outcome = "withdrawn"
        else:
            outcome, _ = await confirm_unit(
                db, round_, person.unit_id, person.member_id, action == "nothing", "web"
            )
    raise redirect(f"{PREFIX}/", outcome)
