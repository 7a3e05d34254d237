"""The draft report in the workspace: gaps highlighted, each figure linking to the records
it counts, standing paragraphs and the header saved for the round and found in the
downloaded .docx; coordinators only."""

from __future__ import annotations

import io
import re

import pytest
from docx import Document
from sqlalchemy import select

from storage import report_texts
from storage.models import AuditEntry
from tests.conftest import registered
from tests.web_support import add_record, sign_in, web_client


@pytest.fixture
async def client(app):
    client = await web_client(app)
    yield client
    await client.close()


@pytest.fixture
async def coordinator(app, client):
    return await sign_in(client, await registered(app, "lan", role="coordinator"))


async def test_the_draft_links_figures_to_their_records_and_highlights_gaps(
    app, client, coordinator
):
    first = await add_record(app, "Sở Tài chính", ten_doan="Đoàn Đại sứ quán Lào")
    second = await add_record(app, "Sở Nội vụ", ten_doan="Đoàn Tổng lãnh sự Lào")
    html = await (await client.get("/web/rounds/2023-Y/draft?mau=nam")).text()
    assert '<mark class="gap">[CẦN BỔ SUNG: ' in html
    link = re.search(r'<a class="figure" href="([^"]+)">02 đoàn</a>', html)
    assert link, html[html.index("tiếp đón") - 200 : html.index("tiếp đón") + 300]
    figure = await (await client.get(link.group(1).replace("&amp;", "&"))).text()
    assert f'href="/web/records/{first}"' in figure and f'href="/web/records/{second}"' in figure
    assert "Các hoạt động được tính (2)" in figure


async def test_a_standing_paragraph_saved_on_the_page_is_in_the_docx(app, client, coordinator):
    page = await (await client.get("/web/rounds/2023-Y/draft?mau=kh_dt")).text()
    assert 'id="doan-bien_gioi"' in page
    text = "Tuyến biên giới với Lào cơ bản ổn định, <b>không</b> có vụ việc phức tạp."
    response = await client.post(
        "/web/rounds/2023-Y/draft/text?mau=kh_dt",
        data={"csrf": coordinator, "section": "bien_gioi", "text": text},
    )
    assert response.status == 200 and "Đã lưu đoạn văn" in await response.text()
    docx = await client.get("/web/rounds/2023-Y/draft/file/docx?mau=kh_dt")
    assert docx.status == 200 and "attachment" in docx.headers["Content-Disposition"]
    paragraphs = [p.text for p in Document(io.BytesIO(await docx.read())).paragraphs]
    assert text in paragraphs  # literal, not marked for review: written for this round
    async with app.sessions() as db:
        saved = (await report_texts.texts_of_round(db, "2023-Y"))["bien_gioi"]
        entry = (
            await db.scalars(select(AuditEntry).where(AuditEntry.action == "report_text"))
        ).one()
    assert saved.changed_by == "Người dùng lan" and entry.source == "web"


async def test_the_header_saved_on_the_page_heads_the_report(app, client, coordinator):
    form = {
        "csrf": coordinator, "addressee": "Sở Kế hoạch và Đầu tư",
        "request_number": "3194/UBND-TH", "request_date": "25/5/2023",
        "request_issuer": "UBND tỉnh", "request_subject": "báo cáo kinh tế - xã hội",
        "recipients": "Như trên;\nLưu: VT.", "signer_titles": "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC",
        "signer_name": "Nguyễn Văn A", "sign_date": "",
    }  # fmt: skip
    response = await client.post("/web/rounds/2023-Y/draft/header?mau=kh_dt", data=form)
    assert "Đã lưu phần đầu" in await response.text()
    docx = await client.get("/web/rounds/2023-Y/draft/file/docx?mau=kh_dt")
    document = Document(io.BytesIO(await docx.read()))
    signer = [p.text for p in document.tables[1].rows[0].cells[1].paragraphs]
    assert signer[:2] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"] and signer[-1] == "Nguyễn Văn A"
    assert any("3194/UBND-TH ngày 25/5/2023 của UBND tỉnh" in p.text for p in document.paragraphs)
    bad = await client.post(
        "/web/rounds/2023-Y/draft/header?mau=kh_dt", data=form | {"request_date": "31/2/2023"}
    )
    assert "Ngày không hợp lệ, chưa lưu" in await bad.text()


@pytest.mark.parametrize(
    "path",
    [
        "/web/rounds/2023-Y/draft",
        "/web/rounds/2023-Y/draft/file/docx",
        "/web/rounds/2023-Y/draft/ref/0",
    ],
)
async def test_focal_points_cannot_open_the_draft(app, client, path):
    await sign_in(client, await registered(app, "hoa"))
    assert (await client.get(path)).status == 403


async def test_unknown_templates_formats_and_figures_are_not_found(client, coordinator):
    assert (await client.get("/web/rounds/2023-Y/draft?mau=xyz")).status == 404
    assert (await client.get("/web/rounds/2023-Y/draft/file/pdf")).status == 404
    assert (await client.get("/web/rounds/2023-Y/draft/ref/999")).status == 404
    assert (await client.get("/web/rounds/2099-Y/draft")).status == 404


async def test_last_years_signed_report_uploaded_on_the_draft_page(app, client, coordinator):
    from aiohttp import FormData

    from tests.conftest import FIXTURES

    def upload(name: str, content: bytes, **fields) -> FormData:
        form = FormData({"csrf": coordinator, **fields})
        form.add_field("file", content, filename=name)
        return form

    signed = (FIXTURES / "bao_cao_nam_2021_bo_ngoai_giao.txt").read_bytes()
    page = await client.get("/web/rounds/2023-Y/draft?mau=bo_ngoai_giao")
    assert "Gửi báo cáo đã ký của đợt năm 2022" in await page.text()
    response = await client.post(
        "/web/rounds/2023-Y/draft/import?mau=bo_ngoai_giao", data=upload("bc-2022.txt", signed)
    )
    html = await response.text()
    assert response.status == 200 and 'Biên giới lãnh thổ</td><td class="num">11' in html
    draft = await (await client.get("/web/rounds/2023-Y/draft?mau=bo_ngoai_giao")).text()
    assert '<mark class="review">[RÀ SOÁT SỐ LIỆU]</mark> Hà Tĩnh có 164,488 km' in draft
    again = await client.post(
        "/web/rounds/2023-Y/draft/import?mau=bo_ngoai_giao", data=upload("bc-2022.txt", signed)
    )
    assert again.status == 409 and "đã có đoạn văn" in await again.text()
    wrong = await client.post(
        "/web/rounds/2023-Y/draft/import?mau=bo_ngoai_giao", data=upload("anh.png", b"\x89PNG")
    )
    assert "Hãy chọn báo cáo dạng Word" in await wrong.text()
