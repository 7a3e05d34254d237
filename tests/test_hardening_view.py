"""`/xem N` answers the same for another unit's record as for a number nobody has: a focal
point cannot learn which records exist elsewhere."""

from __future__ import annotations

from tests.conftest import registered
from tests.test_engine import fill_form


async def a_record_of_the_department(app, user_id: str) -> None:
    owner = await registered(app, user_id, unit="Sở Ngoại vụ")
    await fill_form(owner, "thong_tin_dn")
    await owner.press("Lưu")


async def test_another_units_record_looks_missing(app):
    await a_record_of_the_department(app, "x1")
    other = await registered(app, "x2", unit="Sở Y tế")
    await other.send("/xem 1")
    elsewhere = other.replies[0].text
    await other.send("/xem 2")
    missing = other.replies[0].text
    assert elsewhere.replace("số 1", "số N") == missing.replace("số 2", "số N")
    assert "Không tìm thấy hoạt động số 1 trong các hoạt động của Sở Y tế" in elsewhere
    assert "Ngoại vụ" not in elsewhere and "/donvi" not in elsewhere


async def test_a_coordinator_is_told_how_to_switch_unit(app):
    await a_record_of_the_department(app, "x3")
    boss = await registered(app, "x4", role="coordinator")
    await boss.send("/donvi")
    await boss.send("Sở Y tế")
    await boss.send("/xem 1")
    assert "Sở Y tế" in boss.text and "chọn đơn vị bằng /donvi" in boss.text
