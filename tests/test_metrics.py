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
