"""Messages a person sends to record a typical activity of each type: question by
question (/moi) and with one-message entry (/nhanh), from scripted natural answers,
through the real engine on an SQLite file. Each record is checked saved.

- question by question: "/moi", the type, one answer per question ("từ 12/3 đến 15/3"
  answers both dates, "đúng" takes the status the dates suggest), "Lưu";
- one message: "/nhanh <type>", the filled template, "Lưu";
- one message, with one answer wrong and one left out: the two questions asked after.

Aim: a doan_vao in at most 3 messages with one-message entry.

Usage: .venv/bin/python benchmarks/entry.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import App, open_app  # noqa: E402
from domain.entry import template  # noqa: E402
from domain.forms import load_forms  # noqa: E402
from domain.messages import Incoming  # noqa: E402
from domain.settings import Settings  # noqa: E402
from storage import repo  # noqa: E402

NOW = datetime.fromisoformat("2023-06-15T09:00:00+07:00")
MAX_MESSAGES = 60  # a script stuck on a question stops there (save() then reports it)
FORMS = load_forms()
# Natural answers for a typical record, by field; a field left out is not asked (a date
# range fills its end date) or skipped ("bỏ qua" when asked, empty in a template).
TYPICAL: dict[str, dict[str, str]] = {
    "doan_ra": {
        "ten_doan": "Đoàn công tác của UBND tỉnh thăm tỉnh Bolykhămxay",
        "truong_doan": "Ông Nguyễn Văn A, Phó Chủ tịch UBND tỉnh", "lanh_dao_tinh": "có",
        "nuoc_den": "Lao, Thai Lan", "doi_tac": "UBND tỉnh Bolykhămxay",
        "noi_dung": "Dự Hội nghị cấp cao thường niên", "so_nguoi": "khoảng 12 người",
        "tu_ngay": "từ 12/3 đến 15/3/2023", "kinh_phi": "Ngân sách tỉnh",
        "trang_thai": "đã thực hiện",
    },
    "doan_vao": {
        "ten_doan": "Đoàn Đại sứ quán Lào tại Việt Nam", "truong_doan": "Ông Sengphet, Đại sứ",
        "nuoc": "Lao", "loai_khach": "cơ quan đại diện", "lanh_dao_tinh_tiep": "có",
        "noi_dung": "Chào xã giao, trao đổi hợp tác giáo dục", "so_nguoi": "8 người",
        "tu_ngay": "12-13/3/2023", "trang_thai": "đã thực hiện",
    },
    "hoi_nghi": {
        "ten": "Hội thảo quốc tế về du lịch bền vững", "don_vi_to_chuc": "Trường Đại học Hà Tĩnh",
        "cap_cho_phep": "UBND tỉnh", "dai_bieu_viet_nam": "khoảng 80",
        "dai_bieu_nn_trong_nuoc": "không có", "dai_bieu_nn_tu_nuoc_ngoai": "10",
        "nuoc_to_chuc": "Japan, UNICEF", "noi_dung": "Chia sẻ kinh nghiệm",
        "tu_ngay": "20-21/4/2023", "dia_diem": "TP Hà Tĩnh", "nguon_kinh_phi": "JICA tài trợ",
        "kinh_phi_vnd": "150 triệu đồng", "trang_thai": "đã tổ chức",
    },
    "thoa_thuan": {
        "ten": "Biên bản ghi nhớ hợp tác giáo dục", "doi_tac": "Sở Giáo dục tỉnh Khăm Muộn",
        "nuoc": "Lào", "cap_ky": "cấp sở", "ngay_ky": "5/5/2023",
        "co_quan_de_xuat": "Sở Giáo dục và Đào tạo", "trang_thai": "đã ký",
    },
    "vien_tro": {
        "to_chuc": "World Vision", "quoc_gia": "Mỹ", "ten_du_an": "Nước sạch cho trường học",
        "linh_vuc": "y tế", "dia_ban": "Huyện Hương Khê", "cam_ket_usd": "250 nghìn USD",
        "ngay": "10/4",
    },
    "dang_ky_pcpnn": {"to_chuc": "Plan International", "quoc_gia": "Anh",
                      "hinh_thuc": "gia hạn", "ngay": "2/6"},
    "lanh_su": {"loai_vu_viec": "bảo hộ", "ngay": "hôm qua", "nuoc": "Han Quoc",
                "mo_ta": "Công dân gặp tai nạn lao động"},
    "khen_thuong": {"danh_hieu": "Bằng khen của Chủ tịch UBND tỉnh", "doi_tuong": "KOICA",
                    "loai_doi_tuong": "tập thể", "nuoc": "Korea", "thanh_tich": "Hỗ trợ giáo dục",
                    "so_quyet_dinh": "1234/QĐ-UBND", "ngay_quyet_dinh": "20/5"},
    "nguoi_vn_nn": {"ngay": "15/1", "noi_dung": "Gặp mặt kiều bào đón Tết",
                    "so_tien_vnd": "300 triệu đồng"},
    "thong_tin_dn": {"ngay": "3/3", "noi_dung": "Đón phóng viên NHK", "co_quan_bao_chi": "NHK"},
    "bien_gioi": {"ngay": "12/4", "noi_dung": "Tiếp nhận hài cốt liệt sỹ", "so_hai_cot": "11"},
    "so_lieu": {"chi_tieu": "biên dịch", "gia_tri": "2.139", "ngay": "20/5"},
    "ket_qua_khac": {"ngay": "30/4", "linh_vuc": "Hợp tác quốc tế",
                     "noi_dung": "Hỗ trợ Lào vật tư y tế 2,2 tỷ đồng"},
    "van_ban": {"so_ky_hieu": "53/KH-UBND", "ngay_ban_hanh": "26/2", "loai_van_ban": "kế hoạch",
                "co_quan_ban_hanh": "UBND tỉnh",
                "trich_yeu": "Kế hoạch hoạt động đối ngoại năm 2023"},
    "su_kien": {"ngay": "14/4", "hinh_thuc": "làm việc", "ten": "Làm việc với Đại sứ Nhật Bản",
                "nuoc": "Japan", "linh_vuc": "hợp tác quốc tế", "lanh_dao_tinh": "có"},
    "kho_khan": {"dot": "năm nay", "noi_dung": "Thiếu kinh phí đón đoàn"},
    "de_xuat": {"dot": "năm nay", "noi_dung": "Tập huấn nghiệp vụ lễ tân"},
    "phuong_huong": {"dot": "năm nay", "noi_dung": "Hội nghị cấp cao Hà Tĩnh - Bolykhămxay"},
}  # fmt: skip


class Person:
    """One focal point typing to the engine; counts what they send."""

    def __init__(self, app: App, user: str) -> None:
        self.app, self.user, self.sent, self.updates, self.replies = app, user, 0, 0, []

    async def send(self, text: str = "", choice: str | None = None) -> str:
        self.sent += 1
        self.updates += 1
        incoming = Incoming("bench", self.user, self.user, text, choice=choice,
                            update_id=f"{self.user}-{self.updates}")  # fmt: skip
        self.replies = await self.app.engine.handle(incoming)
        return "\n".join(reply.text for reply in self.replies)


async def register(app: App, user: str) -> Person:
    async with app.sessions() as db, db.begin():
        unit = await repo.unit_by_name(db, "Sở Ngoại vụ")
        code = await repo.create_invite(db, role="focal_point", unit_id=unit.id,
                                        ttl=timedelta(days=1))  # fmt: skip
    person = Person(app, user)
    await person.send(f"/start {code}")
    person.sent = 0
    return person


async def save(person: Person, shown: str) -> None:
    if "Kiểm tra lại trước khi lưu" not in shown:
        raise SystemExit(f"{person.user}: no summary to save:\n{shown}")
    if "Đã lưu hoạt động" not in await person.send("Lưu"):
        raise SystemExit(f"{person.user}: not saved")


def answer_for(kind: str, field) -> str:
    """The typical answer; for a type or field not scripted here, its example (or "bỏ qua")."""
    typed = TYPICAL.get(kind, {}).get(field.key)
    return typed or ("bỏ qua" if field.optional else field.example_for(NOW.date()))


def asked(kind: str, shown: str):
    """The field whose question is on screen; a question never asked is a failed run."""
    for field in FORMS[kind].fields:
        if field.question in shown:
            return field
    raise SystemExit(f"{kind}: expected a question, got:\n{shown}")


async def question_by_question(app: App, kind: str) -> int:
    person = await register(app, f"q-{kind}")
    await person.send("/moi")
    shown = await person.send(FORMS[kind].label)
    while "Kiểm tra lại trước khi lưu" not in shown and person.sent < MAX_MESSAGES:
        shown = await person.send(answer_for(kind, asked(kind, shown)))
    await save(person, shown)
    return person.sent


def filled(kind: str, answers: dict[str, str]) -> str:
    form, lines = FORMS[kind], []
    for line in template(form).splitlines():
        label = line.split(":")[0].split(" (")[0]
        spec = next((f for f in form.fields if f.label.split(" (")[0] == label), None)
        lines.append(f"{line.rstrip()} {answers.get(spec.key, '')}" if spec else line)
    return "\n".join(lines)


async def one_message(app: App, kind: str, spoil: bool) -> int:
    """With `spoil`, the first date or number is typed wrong and a required field is left
    out: each is asked once after the template is read."""
    person = await register(app, f"m-{kind}-{spoil}")
    await person.send(f"/nhanh {FORMS[kind].label}")
    answers = {f.key: answer_for(kind, f) for f in FORMS[kind].fields if not f.optional}
    answers.update(TYPICAL.get(kind, {}))
    if spoil:
        fields = FORMS[kind].fields
        wrong = next(f for f in fields if f.type in ("date", "int", "money", "round"))
        missing = next(f for f in fields if not f.optional and f is not wrong)
        answers[wrong.key], _ = "31/2/2023" if wrong.type == "date" else "???", None
        answers.pop(missing.key)
    shown = await person.send(filled(kind, answers))
    while "Kiểm tra lại trước khi lưu" not in shown and person.sent < MAX_MESSAGES:
        shown = await person.send(answer_for(kind, asked(kind, shown)))
    await save(person, shown)
    return person.sent


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        # A script answers faster than a person types: flood damping would drop its messages.
        settings = Settings(data_dir=Path(folder), database_url="", flood_burst=10**6)
        app = await open_app(settings, clock=lambda: NOW)
        print("Messages a person sends per record (scripted natural answers, real engine):")
        print(f"{'type':<15}{'questions':>10}{'one message':>13}{'  …1 wrong+1 missing':>22}")
        totals = [0, 0, 0]
        for kind in FORMS:
            counts = [
                await question_by_question(app, kind),
                await one_message(app, kind, spoil=False),
                await one_message(app, kind, spoil=True),
            ]
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
            print(f"{kind:<15}{counts[0]:>10}{counts[1]:>13}{counts[2]:>22}")
        print(f"{'all types':<15}{totals[0]:>10}{totals[1]:>13}{totals[2]:>22}")
        await app.close()


if __name__ == "__main__":
    asyncio.run(main())
