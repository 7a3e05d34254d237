"""Control characters never reach a record, and nothing in a cell runs as a formula:
text entering by chat, by import and by the web form is cleaned; an export of records
stored before that still opens."""

from __future__ import annotations

from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from domain.forms import load_forms
from domain.messages import Incoming
from storage import repo
from storage.models import Record
from storage.transfer import export_records, import_records
from tests.conftest import TZ_NOW, registered

CONTROLS = "\x00\x01\x08\x0b\x0c\x1b\x7f\x9f\ud800\ufffe"


def test_a_message_enters_without_control_characters():
    incoming = Incoming("test", "u1", "u1", text=f"Đoàn{CONTROLS} Lào\nhai", display_name="A\x01n")
    assert incoming.text == "Đoàn Lào\nhai" and incoming.display_name == "An"


async def _records(app) -> list[Record]:
    async with app.sessions() as db:
        return list((await db.scalars(select(Record).order_by(Record.id))).all())


async def test_a_record_typed_with_control_characters_is_stored_clean_and_exports(app, tmp_path):
    form = load_forms()["ket_qua_khac"]
    user = await registered(app, "ctl")
    await user.send(f"/nhanh {form.label}")
    sent = user.replies[-1].text
    answers = {f.key: f.example for f in form.fields}
    answers["noi_dung"] = "=1+1 Ký\x01 kết\x1b thỏa thuận"
    lines = []
    for line in sent.splitlines():
        spec = next((f for f in form.fields if line.startswith(f.label.split(" (")[0])), None)
        lines.append(f"{line.rstrip()} {answers[spec.key]}" if spec else line)
    await user.send("\n".join(lines))
    assert "Kiểm tra lại trước khi lưu" in user.text
    await user.press("Lưu")
    [record] = await _records(app)
    assert record.values["noi_dung"] == "=1+1 Ký kết thỏa thuận"

    out = tmp_path / "export.xlsx"
    async with app.sessions() as db:
        assert await export_records(db, out, "xlsx") == 1
    sheet = load_workbook(out)["ket_qua_khac"]
    column = [c.value for c in sheet[1]].index("noi_dung")
    cell = sheet[2][column]
    assert cell.value == "=1+1 Ký kết thỏa thuận" and cell.data_type == "s"


async def test_an_export_of_records_stored_before_cleaning_still_opens(app, tmp_path):
    async with app.sessions() as db, db.begin():
        unit = await repo.unit_by_name(db, "Sở Ngoại vụ")
        values = {"ngay": "2021-03-01", "linh_vuc": "@SUM(A1)\x01", "noi_dung": "-2\x02+3"}
        await repo.create_record(
            db, kind="ket_qua_khac", unit_id=unit.id, submitted_by=None, values=values,
            event_date=date(2021, 3, 1), round_id=None,
        )  # fmt: skip
    out = tmp_path / "old.xlsx"
    async with app.sessions() as db:
        assert await export_records(db, out, "xlsx") == 1
    sheet = load_workbook(out)["ket_qua_khac"]
    row = {header.value: cell for header, cell in zip(sheet[1], sheet[2], strict=True)}
    assert row["linh_vuc"].value == "@SUM(A1)" and row["linh_vuc"].data_type == "s"
    assert row["noi_dung"].value == "-2+3" and row["noi_dung"].data_type == "s"


async def test_an_imported_file_is_cleaned(app, tmp_path):
    path = tmp_path / "nhap.csv"
    path.write_text(
        "loai,don_vi,ngay,linh_vuc,noi_dung\n"
        "ket_qua_khac,Sở Ngoại vụ,01/03/2021,Văn\x01 hóa,Giao\x0b lưu\x1f\n",
        encoding="utf-8",
    )
    async with app.sessions() as db, db.begin():
        result = await import_records(db, path, TZ_NOW.date())
    assert result.errors == [] and result.imported == 1
    [record] = await _records(app)
    assert record.values["linh_vuc"] == "Văn hóa" and record.values["noi_dung"] == "Giao lưu"
