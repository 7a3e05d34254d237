"""Import and export: the seed's annex rows imported, exported, imported again."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.app import open_app
from storage.models import Record, Unit
from storage.transfer import export_records, import_records
from tests.conftest import FIXTURES, TZ_NOW, make_settings

SEED_FILES = [FIXTURES / "hoi_nghi_2021.csv", FIXTURES / "khen_thuong_2021.csv"]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


async def record_set(app) -> list[tuple]:
    """Every live record as comparable data: type, unit, values, event date."""
    async with app.sessions() as db:
        rows = await db.execute(
            select(Record, Unit).join(Unit, Unit.id == Record.unit_id).order_by(Record.id)
        )
        return sorted(
            (r.kind, u.name, sorted(r.values.items()), r.event_date, r.round_id) for r, u in rows
        )


async def import_into(app, path: Path, create_units: bool = False):
    async with app.sessions() as db, db.begin():
        result = await import_records(db, path, TZ_NOW.date(), create_units)
        if result.errors:
            await db.rollback()
    return result


async def test_seed_conferences_and_awards_round_trip(tmp_path, app):
    for path in SEED_FILES:
        result = await import_into(app, path)
        assert result.errors == [], result.errors[:5]
    original = await record_set(app)
    assert len(original) == len(csv_rows(SEED_FILES[0])) + 25
    kinds = [row[0] for row in original]
    assert kinds.count("khen_thuong") == 25 and kinds.count("hoi_nghi") >= 15

    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"export.{fmt}"
        async with app.sessions() as db:
            assert await export_records(db, out, fmt) == len(original)
        fresh = await open_app(make_settings(tmp_path / f"fresh-{fmt}"), clock=lambda: TZ_NOW)
        result = await import_into(fresh, out)
        assert result.errors == []
        assert await record_set(fresh) == original
        await fresh.close()


async def test_export_layout_csv_and_xlsx(tmp_path, app):
    await import_into(app, SEED_FILES[1])
    out_csv, out_xlsx = tmp_path / "a.csv", tmp_path / "a.xlsx"
    async with app.sessions() as db:
        await export_records(db, out_csv, "csv")
        await export_records(db, out_xlsx, "xlsx")
    rows = csv_rows(out_csv)
    assert list(rows[0])[:4] == ["loai", "don_vi", "ten_doan", "truong_doan"]
    assert rows[0]["loai"] == "khen_thuong" and rows[0]["ngay_quyet_dinh"].count("/") == 2

    workbook = load_workbook(out_xlsx)
    assert "khen_thuong" in workbook.sheetnames and "doan_ra" in workbook.sheetnames
    sheet = workbook["khen_thuong"]
    header = [c.value for c in sheet[1]]
    assert header == [
        "loai", "don_vi", "danh_hieu", "doi_tuong", "loai_doi_tuong", "nuoc",
        "thanh_tich", "so_quyet_dinh", "ngay_quyet_dinh",
    ]  # fmt: skip
    assert sheet.max_row == 26
    assert workbook["doan_ra"].max_row == 1


async def test_export_by_date_range(tmp_path, app):
    await import_into(app, SEED_FILES[0])
    from datetime import date

    out = tmp_path / "q1.csv"
    async with app.sessions() as db:
        count = await export_records(db, out, "csv", date(2021, 1, 1), date(2021, 3, 31))
    dates = [row["tu_ngay"] for row in csv_rows(out)]
    assert count == len(dates) > 0
    assert all(d.endswith("/2021") and 1 <= int(d.split("/")[1]) <= 3 for d in dates)


async def test_import_is_all_or_nothing_with_row_numbers(tmp_path, app):
    rows = csv_rows(SEED_FILES[1])
    rows[2]["ngay_quyet_dinh"] = "31/02/2021"
    rows[4]["loai_doi_tuong"] = "nhóm"
    rows[6]["don_vi"] = "Sở Không Tồn Tại"
    rows[7]["loai"] = "doan_xyz"
    bad = tmp_path / "bad.csv"
    with bad.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = await import_into(app, bad)
    assert result.imported == 0
    joined = "\n".join(result.errors)
    assert "dòng 4: ngay_quyet_dinh: Ngày 31/2/2021 không tồn tại." in joined
    assert "dòng 6: loai_doi_tuong" in joined
    assert 'dòng 8: đơn vị "Sở Không Tồn Tại" chưa có' in joined
    assert 'dòng 9: loại hoạt động "doan_xyz" không có' in joined
    async with app.sessions() as db:
        assert await db.scalar(select(func.count(Record.id))) == 0

    fixed = await import_into(app, bad.with_name("bad.csv"), create_units=True)
    assert fixed.imported == 0 and len(fixed.errors) == 3  # units can be created, dates not


async def test_import_creates_missing_units_only_when_asked(tmp_path, app):
    rows = csv_rows(SEED_FILES[1])[:2]
    rows[1]["don_vi"] = "Trung tâm Mới Thành Lập"
    path = tmp_path / "units.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert (await import_into(app, path)).imported == 0
    result = await import_into(app, path, create_units=True)
    assert result.imported == 2 and result.created_units == ["Trung tâm Mới Thành Lập"]


async def record_count(app) -> int:
    async with app.sessions() as db:
        return await db.scalar(select(func.count(Record.id)))


async def test_a_file_imported_twice_is_counted_once(tmp_path, app):
    first = await import_into(app, FIXTURES / "hoi_nghi_2021.csv")
    assert first.imported == 18 and first.skipped == []
    again = await import_into(app, FIXTURES / "hoi_nghi_2021.csv")
    assert again.errors == [] and again.imported == 0
    assert len(again.skipped) == 18
    assert again.skipped[0].startswith("hoi_nghi_2021.csv, dòng 2: trùng với hoạt động số 1")
    assert await record_count(app) == 18
    # A copy with one new row and a row repeated inside the file: only the new one counts.
    rows = csv_rows(FIXTURES / "hoi_nghi_2021.csv")
    extra = dict(rows[0], ten="Hội thảo mới về y tế cộng đồng")
    mixed = tmp_path / "mixed.csv"
    with mixed.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([rows[0], extra, extra])
    result = await import_into(app, mixed)
    assert result.imported == 1 and await record_count(app) == 19
    assert "mixed.csv, dòng 4: trùng với mixed.csv, dòng 3, bỏ qua." in result.skipped


async def test_the_reports_data_file_imports_back(tmp_path, app):
    """The data file written with a report (labels as headers, choices as labels) is read
    by import: into an empty database it recreates the same records."""
    from datetime import date

    from domain.periods import round_period
    from templates.report.build import build_report

    for path in SEED_FILES:
        await import_into(app, path)
    period = round_period("2021-Y", date(2021, 12, 31))
    report = await build_report(app.sessions, app.settings, period, "nam")
    data = report.write_data_xlsx(tmp_path / "du-lieu.xlsx")
    fresh = await open_app(make_settings(tmp_path / "fresh"), clock=lambda: TZ_NOW)
    try:
        result = await import_into(fresh, data)
        assert result.errors == [] and result.imported == 18 + 25
        assert await record_set(fresh) == await record_set(app)
    finally:
        await fresh.close()
