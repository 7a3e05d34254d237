"""/metrics: what an operator's Prometheus reads, counted by the parts that do the work."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.web import build_web_app
from tests.conftest import ChatUser, registered


async def scrape(app) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics, by name and labels."""
    async with TestClient(TestServer(build_web_app(app))) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_each_update_and_its_handling_time(app):
    user = await registered(app, "metrics-user")
    before = await scrape(app)
    await user.send("/moi")
    await ChatUser(app, "a-stranger").send("xin chào")
    after = await scrape(app)

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("doingoai_updates_received_total", channel="test") == 2
    assert grew("doingoai_updates_handled_total", channel="test", outcome="ok") == 2
    assert grew("doingoai_handling_seconds_count", channel="test") == 2
    assert grew("doingoai_handling_seconds_sum", channel="test") > 0
    assert value(after, "process_start_time_seconds") > 0


async def test_a_queued_reminder_is_counted_by_channel_and_outcome(app):
    """The outbox's sender counts each reminder it hands over, and the queue's length."""
    from datetime import datetime

    from bot.outbox import OutboxSender
    from domain.messages import SENT, Delivery
    from scheduler.reminders import Reminders

    await registered(app, "reminded-user", unit="Sở Y tế")
    handed: list[str] = []

    async def send(outgoing, done: int = 0) -> Delivery:
        handed.append(outgoing.text)
        return Delivery(SENT, ("m-1",))

    before = await scrape(app)
    moment = datetime.fromisoformat("2023-10-03T08:00:00+07:00")  # d7 of 2023-Y
    reminders = Reminders(app.sessions, app.settings, None, queue_to={"test"})
    assert await reminders.tick(moment) == 1
    assert await OutboxSender(app.sessions, app.settings, "zalo", send).send_due() == 0
    waiting = await scrape(app)
    assert await OutboxSender(app.sessions, app.settings, "test", send).send_due() == 1
    after = await scrape(app)

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert len(handed) == 1 and handed[0].startswith("🔔 Nhắc báo cáo đối ngoại năm 2023")
    assert value(waiting, "doingoai_send_queue") == 1  # every channel's rows count
    assert value(after, "doingoai_send_queue") == 0
    assert grew("doingoai_reminders_total", channel="test", outcome="sent") == 1
    assert (
        grew("doingoai_messages_sent_total", channel="test", kind="reminder", outcome="sent") == 1
    )
