"""The workspace's pages over HTTP: the round page, reminders now, the records table and
its exports, editing with the chat's forms, uploads, invites, units and charts."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.webui.forms import parse_value
from domain.forms import load_forms
from domain.parsing import ParseError
from storage.models import AuditEntry, Invite, Record, ReminderLog, Unit
from storage.rounds import confirm
from tests.conftest import TZ_NOW, registered
from tests.web_support import add_record, sign_in, unit_id, web_client


@pytest.fixture
async def sent():
    return []


@pytest.fixture
async def client(app, sent):
    async def deliver(channel, outgoing):
        sent.append((channel, outgoing.chat_id, outgoing.text))
        return "sent"

    client = await web_client(app, deliver)
    yield client
    await client.close()


@pytest.fixture
async def coordinator(app, client):
    return await sign_in(client, await registered(app, "lan", role="coordinator"))


def row_of(html: str, unit: str) -> str:
    match = re.search(rf'<tr data-unit="{re.escape(unit)}">(.*?)</tr>', html, re.S)
    assert match, unit
    return match.group(1)


async def test_the_round_page_shows_each_units_status(app, client, coordinator):
    await registered(app, "a", unit="Sở Tài chính")
    await registered(app, "b", unit="Sở Nội vụ")
    await registered(app, "c", unit="Sở Ngoại vụ")
    await add_record(app, "Sở Tài chính")
    async with app.sessions() as db, db.begin():
        await confirm(db, "2023-Y", await unit_id(app, "Sở Tài chính"), 1, False)
        await confirm(db, "2023-Y", await unit_id(app, "Sở Ngoại vụ"), 1, True)
    await add_record(app, "Sở Ngoại vụ")  # after its confirmation
    html = await (await client.get("/web/rounds/2023-Y")).text()
    assert "Đã xác nhận" in row_of(html, "Sở Tài chính")
    assert "có thay đổi sau đó" in row_of(html, "Sở Ngoại vụ")
    assert "Chưa báo cáo" in row_of(html, "Sở Nội vụ")
    assert "Chưa có đầu mối" in row_of(html, "Sở Kế hoạch và Đầu tư")
    assert "<svg" in html and "Xem dạng bảng" in html
    pending = await (await client.get("/web/rounds/2023-Y?loc=chua")).text()
    assert 'data-unit="Sở Nội vụ"' in pending and 'data-unit="Sở Tài chính"' not in pending
    assert (await client.get("/web/rounds/2023-Z")).status == 404


async def test_remind_now_sends_once_per_click_and_logs_it(app, client, coordinator, sent):
    await registered(app, "a", unit="Sở Tài chính")
    await registered(app, "b", unit="Sở Nội vụ")
    page = await (await client.get("/web/rounds/2023-Y")).text()
    nonce = re.search(r'name="nonce" value="([0-9a-f]{12})"', page).group(1)
    data = {"csrf": coordinator, "nonce": nonce, "unit_id": str(await unit_id(app, "Sở Nội vụ"))}
    first = await client.post("/web/rounds/2023-Y/remind", data=data)
    assert "Đã nhắc 1 đầu mối" in await first.text()
    assert [chat for _, chat, _ in sent] == ["b"] and "Nhắc báo cáo đối ngoại" in sent[0][2]
    again = await client.post("/web/rounds/2023-Y/remind", data=data)  # a resent form
    assert "Đã nhắc 0 đầu mối" in await again.text() and len(sent) == 1
    everyone = await client.post("/web/rounds/2023-Y/remind", data={**data, "unit_id": ""})
    assert "Đã nhắc 1 đầu mối" in await everyone.text()  # b had this click's slot already
    assert sorted(chat for _, chat, _ in sent) == ["a", "b"]
    async with app.sessions() as db:
        slots = (await db.scalars(select(ReminderLog.slot))).all()
        audit = (await db.scalars(select(AuditEntry).where(AuditEntry.action == "remind"))).all()
    assert slots == [f"now-{nonce}"] * 2 and all(a.source == "web" for a in audit)
    html = await (await client.get("/web/rounds/2023-Y")).text()
    assert "Đã nhắc" in row_of(html, "Sở Nội vụ")


async def test_the_records_table_filters_sorts_pages_and_exports(app, client, coordinator):
    await add_record(app, "Sở Tài chính", ten_doan="Đoàn Nhật Bản", nuoc="Nhật Bản")
    await add_record(app, "Sở Nội vụ", ten_doan="Đoàn Lào")
    await add_record(app, "Sở Nội vụ", "doan_ra")
    html = await (await client.get("/web/records")).text()
    assert "3 hoạt động" in html
    found = await (await client.get("/web/records?q=nhat ban")).text()  # no accents typed
    assert "1 hoạt động" in found and "Đoàn Nhật Bản" in found
    unit = await unit_id(app, "Sở Nội vụ")
    by_unit = await (await client.get(f"/web/records?unit={unit}&loai=doan_vao")).text()
    assert "1 hoạt động" in by_unit and "Đoàn Lào" in by_unit
    planned = await (await client.get("/web/records?trang_thai=planned")).text()
    assert "1 hoạt động" in planned and "Bolykhămxay" in planned
    dated = await (await client.get("/web/records?tu=1/4/2023&den=30/4/2023")).text()
    assert "1 hoạt động" in dated
    wrong = await (await client.get("/web/records?tu=31/2/2023")).text()
    assert "Chưa đọc được ngày bắt đầu" in wrong and "3 hoạt động" in wrong
    sorted_page = await (await client.get("/web/records?sort=id&dir=asc")).text()
    assert sorted_page.index("#1<") < sorted_page.index("#3<")
    exported = await client.get(f"/web/records/export/csv?unit={unit}")
    rows = list(csv.DictReader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
    assert {r["don_vi"] for r in rows} == {"Sở Nội vụ"} and len(rows) == 2
    workbook = await client.get("/web/records/export/xlsx?q=lao")
    sheets = load_workbook(io.BytesIO(await workbook.read()))
    assert sheets["doan_vao"].max_row == 2 and sheets["doan_ra"].max_row == 2


async def test_records_are_paged(app, client, coordinator):
    for n in range(55):
        await add_record(app, "Sở Nội vụ", ten_doan=f"Đoàn số {n}")
    first = await (await client.get("/web/records")).text()
    assert "Trang 1/2" in first and first.count('href="/web/records/') >= 100
    second = await (await client.get("/web/records?page=2")).text()
    assert "Trang 2/2 (51–55)" in second


async def test_editing_explains_a_bad_value_as_the_chat_does_and_keeps_it(app, client):
    record_id = await add_record(app, "Sở Ngoại vụ")
    csrf = await sign_in(client, await registered(app, "hoa"))
    page = await (await client.get(f"/web/records/{record_id}/edit")).text()
    assert 'value="12/03/2023"' in page and 'value="8"' in page
    form = {"csrf": csrf, "version": "1", **dict(re.findall(r'name="(\w+)" value="([^"]*)"', page))}
    form.update(lanh_dao_tinh_tiep="có", loai_khach="co_quan_dai_dien", trang_thai="da_thuc_hien",
                noi_dung="Chào xã giao", so_nguoi="tám người")  # fmt: skip
    field = load_forms()["doan_vao"].field("so_nguoi")
    with pytest.raises(ParseError) as error:
        parse_value(field, "tám người", TZ_NOW.date())
    bad = await client.post(f"/web/records/{record_id}/edit", data=form)
    html = await bad.text()
    assert bad.status == 400 and field.explain(error.value) in html
    assert 'value="tám người"' in html
    fixed = await client.post(f"/web/records/{record_id}/edit", data={**form, "so_nguoi": "1.700"})
    text = await fixed.text()
    assert "Đã lưu thay đổi của hoạt động số" in text and "1.700" in text
    assert "Số lượt khách: 8 → 1.700" in re.sub(r"<[^>]+>", "", text)
    async with app.sessions() as db:
        record = await db.get(Record, record_id)
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "update"))
    assert record.values["so_nguoi"] == 1700 and record.version == 2
    assert entry.source == "web" and entry.details["changes"]["so_nguoi"] == [8, 1700]
    stale = await client.post(f"/web/records/{record_id}/edit", data={**form, "so_nguoi": "9"})
    assert "vừa được người khác sửa hoặc xóa" in await stale.text()


async def test_a_rule_between_fields_is_explained(app, client):
    record_id = await add_record(app, "Sở Ngoại vụ")
    csrf = await sign_in(client, await registered(app, "hoa"))
    page = await (await client.get(f"/web/records/{record_id}/edit")).text()
    form = {"csrf": csrf, **dict(re.findall(r'name="(\w+)" value="([^"]*)"', page))}
    form.update(lanh_dao_tinh_tiep="có", loai_khach="khac", trang_thai="ke_hoach",
                noi_dung="x", den_ngay="1/3/2023")  # fmt: skip
    html = await (await client.post(f"/web/records/{record_id}/edit", data=form)).text()
    assert "Ngày này không được trước từ ngày (12/03/2023)" in html


async def test_new_records_belong_to_the_focal_points_unit_or_the_chosen_one(app, client):
    values = {"ngay": "hôm qua", "noi_dung": "Tiếp nhận 2 hài cốt liệt sĩ", "so_hai_cot": "2"}
    hoa_client = await web_client(app)
    try:
        csrf = await sign_in(hoa_client, await registered(app, "hoa", unit="Sở Nội vụ"))
        assert (
            "Ghi nhận: Công tác biên giới"
            in await (await hoa_client.get("/web/records/new?loai=bien_gioi")).text()
        )
        other = str(await unit_id(app, "Sở Tài chính"))  # a forged unit is ignored
        saved = await hoa_client.post(
            "/web/records/new",
            data={"csrf": csrf, "loai": "bien_gioi", "unit_id": other, **values},
        )
        assert "Đã lưu hoạt động số" in await saved.text()
    finally:
        await hoa_client.close()
    csrf = await sign_in(client, await registered(app, "lan", role="coordinator"))
    missing = await client.post(
        "/web/records/new", data={"csrf": csrf, "loai": "bien_gioi", **values}
    )
    assert missing.status == 400 and "Vui lòng chọn đơn vị" in await missing.text()
    chosen = await client.post(
        "/web/records/new",
        data={"csrf": csrf, "loai": "bien_gioi", "unit_id": other, **values},
    )
    assert chosen.status == 200
    async with app.sessions() as db:
        rows = (await db.execute(select(Record.unit_id, Record.values))).all()
    units = [await unit_id(app, "Sở Nội vụ"), int(other)]
    assert [r[0] for r in rows] == units and rows[0][1]["ngay"] == "2023-06-14"


async def test_deleting_a_record_asks_first_and_is_audited(app, client):
    record_id = await add_record(app, "Sở Ngoại vụ")
    csrf = await sign_in(client, await registered(app, "hoa"))
    assert "Xóa hoạt động số" in await (await client.get(f"/web/records/{record_id}/delete")).text()
    done = await client.post(f"/web/records/{record_id}/delete", data={"csrf": csrf})
    assert f"Đã xóa hoạt động số {record_id}" in await done.text()
    assert (await client.get(f"/web/records/{record_id}")).status == 404
    async with app.sessions() as db:
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "delete"))
    assert entry.source == "web"


def workbook_bytes(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


BIEN_GIOI = ["loai", "don_vi", "ngay", "noi_dung", "so_hai_cot"]


async def upload(client, csrf: str, content: bytes, name: str = "tep.xlsx"):
    from aiohttp import FormData

    data = FormData()
    data.add_field("csrf", csrf)
    data.add_field("file", content, filename=name)
    return await client.post("/web/import", data=data)


async def count_records(app) -> int:
    async with app.sessions() as db:
        return await db.scalar(select(func.count(Record.id)))


async def test_an_upload_with_a_bad_row_imports_nothing_and_lists_it(app, client):
    csrf = await sign_in(client, await registered(app, "hoa", unit="Sở Nội vụ"))
    content = workbook_bytes({"bien_gioi": [
        BIEN_GIOI,
        ["bien_gioi", "Sở Nội vụ", "12/3/2023", "Hội đàm biên giới", "2"],
        ["bien_gioi", "", "31/2/2023", "Tuần tra chung", ""],
        ["bien_gioi", "Sở Tài chính", "1/4/2023", "Phân giới cắm mốc", ""],
    ]})  # fmt: skip
    response = await upload(client, csrf, content)
    html = await response.text()
    assert response.status == 400 and "Không nhập gì cả: có 2 lỗi" in html
    assert "bien_gioi, dòng 3: ngay: Ngày 31/2/2023 không tồn tại." in html
    assert "dòng 4" in html and "chỉ nhập được hoạt động của đơn vị mình" in html
    assert await count_records(app) == 0


async def test_a_clean_upload_is_previewed_then_imported_on_confirmation(app, client):
    csrf = await sign_in(client, await registered(app, "hoa", unit="Sở Nội vụ"))
    content = workbook_bytes({"bien_gioi": [
        BIEN_GIOI,
        ["bien_gioi", "", datetime(2023, 3, 12), "Hội đàm biên giới", 2],
        ["bien_gioi", "Sở Nội vụ", "1/4/2023", "Tuần tra chung", None],
    ]})  # fmt: skip
    preview = await (await upload(client, csrf, content)).text()
    assert "2</strong> hoạt động sẵn sàng để nhập" in preview and "12/03/2023" in preview
    assert await count_records(app) == 0
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', preview).group(1)
    done = await client.post("/web/import/confirm", data={"csrf": csrf, "upload_id": upload_id})
    assert "Đã nhập 2 hoạt động" in await done.text()
    async with app.sessions() as db:
        entries = (await db.scalars(select(AuditEntry).where(AuditEntry.action == "import"))).all()
    assert await count_records(app) == 2 and {e.source for e in entries} == {"web"}
    again = await client.post("/web/import/confirm", data={"csrf": csrf, "upload_id": upload_id})
    assert again.status == 404 and await count_records(app) == 2


async def test_a_units_own_table_is_imported_with_its_columns_mapped(app, client):
    csrf = await sign_in(client, await registered(app, "hoa", unit="Sở Nội vụ"))
    content = workbook_bytes({"Sheet1": [
        ["Ngày", "Nội dung", "Ghi chú"],
        ["5/5/2023", "Tiếp nhận hài cốt", "x"],
    ]})  # fmt: skip
    page = await (await upload(client, csrf, content, "bang-rieng.xlsx")).text()
    assert "không theo mẫu xuất dữ liệu" in page
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', page).group(1)
    base = {"csrf": csrf, "upload_id": upload_id, "loai": "bien_gioi"}
    mapping = await (await client.post("/web/import/map", data={**base, "step": "type"})).text()
    assert '<option value="Ngày" selected>' in mapping  # guessed from the label
    columns = {"col_ngay": "Ngày", "col_noi_dung": "Nội dung", "col_so_hai_cot": ""}
    preview = await (await client.post("/web/import/map", data={**base, **columns})).text()
    assert "1</strong> hoạt động sẵn sàng" in preview
    done = await client.post("/web/import/confirm", data={**base, **columns})
    assert "Đã nhập 1 hoạt động" in await done.text() and await count_records(app) == 1


async def test_another_person_cannot_use_an_upload(app, client):
    csrf = await sign_in(client, await registered(app, "hoa", unit="Sở Nội vụ"))
    content = workbook_bytes({"bien_gioi": [BIEN_GIOI, ["bien_gioi", "", "1/4/2023", "x", ""]]})
    page = await (await upload(client, csrf, content)).text()
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', page).group(1)
    other = await web_client(app)
    try:
        token = await sign_in(other, await registered(app, "lan", role="coordinator"))
        refused = await other.post(
            "/web/import/confirm", data={"csrf": token, "upload_id": upload_id}
        )
        assert refused.status == 404 and await count_records(app) == 0
    finally:
        await other.close()


async def test_a_file_that_is_not_a_spreadsheet_is_refused(app, client):
    csrf = await sign_in(client, await registered(app, "hoa"))
    wrong_type = await upload(client, csrf, b"hello", "ghi-chu.txt")
    assert wrong_type.status == 400 and "Vui lòng chọn một tệp Excel" in await wrong_type.text()
    broken = await upload(client, csrf, b"not a zip", "hong.xlsx")
    assert broken.status == 400 and "Không đọc được tệp này" in await broken.text()


async def test_invites_show_deep_links_and_qr_codes_and_can_be_revoked(tmp_path):
    from bot.app import open_app
    from tests.conftest import ChatUser, make_settings

    settings = make_settings(
        tmp_path / "data", telegram_bot_username="HaTinhDoiNgoaiBot",
        zalo_bot_link="https://zalo.me/s/1234567890",
    )  # fmt: skip
    app = await open_app(settings, clock=lambda: TZ_NOW)
    client = await web_client(app)
    try:
        csrf = await sign_in(client, await registered(app, "lan", role="coordinator"))
        unit = str(await unit_id(app, "Sở Tư pháp"))
        page = await client.post(
            "/web/invites", data={"csrf": csrf, "role": "focal_point", "unit_id": unit}
        )
        html = await page.text()
        code = re.search(r'<code id="invite-code">([\w-]+)</code>', html).group(1)
        assert f"https://t.me/HaTinhDoiNgoaiBot?start={code}" in html
        assert "https://zalo.me/s/1234567890" in html and html.count("<svg") == 2
        invite_id = re.search(r"/web/invites/(\d+)/revoke", html).group(1)
        await client.post(f"/web/invites/{invite_id}/revoke", data={"csrf": csrf})
        async with app.sessions() as db:
            assert (await db.get(Invite, int(invite_id))).revoked_at is not None
        stranger = ChatUser(app, "moi")
        await stranger.send(f"/start {code}")
        assert "đã hết hạn" in stranger.text
        missing = await client.post("/web/invites", data={"csrf": csrf, "role": "focal_point"})
        assert missing.status == 400
    finally:
        await client.close()
        await app.close()


async def test_units_are_renamed_merged_and_deactivated_never_deleted(app, client, coordinator):
    source, target = await unit_id(app, "Sở Tư pháp"), await unit_id(app, "Sở Nội vụ")
    await add_record(app, "Sở Tư pháp")
    await registered(app, "tp", unit="Sở Tư pháp")
    csrf = coordinator
    await client.post("/web/units", data={"csrf": csrf, "name": "Trường Cao đẳng Y tế"})
    taken = await client.post(
        f"/web/units/{source}/rename", data={"csrf": csrf, "name": "sở nội vụ"}
    )
    assert taken.status == 400 and "Đã có đơn vị mang tên này" in await taken.text()
    await client.post(f"/web/units/{source}/rename", data={"csrf": csrf, "name": "Sở Tư pháp tỉnh"})
    merged = await client.post(f"/web/units/{source}/merge", data={"csrf": csrf, "into": target})
    assert "1 hoạt động đã chuyển sang" in await merged.text()
    async with app.sessions() as db:
        old = await db.get(Unit, source)
        assert old.name == "Sở Tư pháp tỉnh" and not old.active
        assert await db.scalar(select(Record.unit_id)) == target
        assert (
            await db.scalar(select(func.count(Unit.id)).where(Unit.name == "Trường Cao đẳng Y tế"))
            == 1
        )
    await client.post(f"/web/units/{target}/active", data={"csrf": csrf, "active": "0"})
    async with app.sessions() as db:
        assert not (await db.get(Unit, target)).active


async def test_charts_draw_activities_by_month_and_delegations_by_country(app, client, coordinator):
    await add_record(app, "Sở Nội vụ", "doan_ra", nuoc_den="Lào, Thái Lan")
    await add_record(app, "Sở Nội vụ", "doan_ra", nuoc_den="lào")
    html = await (await client.get("/web/charts?nam=2023")).text()
    assert html.count("<svg") == 2  # incoming delegations: none in 2023 other than below
    assert re.search(r"<th scope=\"row\">Lào</th>\s*<td class=\"num\">2</td>", html)
    assert "Đoàn ra (đi công tác nước ngoài) · T4: 2" not in html
    assert "T4 · Đoàn ra (đi công tác nước ngoài): 2" in html


async def test_a_focal_point_confirms_the_round_on_the_web(app, client):
    csrf = await sign_in(client, await registered(app, "hoa", unit="Sở Nội vụ"))
    home = await (await client.get("/web/")).text()
    assert "chưa ghi nhận hoạt động nào" in home
    done = await client.post("/web/rounds/2023-Y/confirm", data={"csrf": csrf, "action": "nothing"})
    assert "Đã xác nhận báo cáo của đơn vị" in await done.text()
    closed = await client.post("/web/rounds/2023-H1/confirm", data={"csrf": csrf, "action": "done"})
    assert "Đợt báo cáo này đã đóng" in await closed.text()
    async with app.sessions() as db:
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.action == "confirm"))
    assert entry.source == "web" and entry.details["nothing_to_report"] is True


async def test_uploading_the_same_rows_again_stores_nothing_twice(app, client):
    csrf = await sign_in(client, await registered(app, "hoa", unit="Sở Nội vụ"))
    content = workbook_bytes({"bien_gioi": [BIEN_GIOI, ["bien_gioi", "", "1/4/2023", "x", ""]]})
    page = await (await upload(client, csrf, content)).text()
    upload_id = re.search(r'name="upload_id" value="([^"]+)"', page).group(1)
    await client.post("/web/import/confirm", data={"csrf": csrf, "upload_id": upload_id})
    again = await (await upload(client, csrf, content)).text()
    assert "không có dòng nào cần nhập" in again and "trùng với hoạt động số" in again
    assert await count_records(app) == 1
