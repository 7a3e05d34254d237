"""The terminal chat as people and scripts use it: a piped subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

DOINGOAI = [sys.executable, "-m", "bot.cli"]


def run(args: list[str], data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DOINGOAI_DATA_DIR": str(data_dir), "DOINGOAI_DATABASE_URL": ""}
    return subprocess.run(
        DOINGOAI + args, input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def test_piped_session_registers_and_saves_a_record(tmp_path):
    code = run(["invite", "--unit", "UBND huyện Hương Sơn", "--role", "focal_point"], tmp_path)
    assert code.returncode == 0, code.stderr
    script = "\n".join(
        [
            f"/start {code.stdout.strip()}",
            "/moi",
            "Viện trợ",  # the type, by words
            "Tổ chức Tầm nhìn Thế giới",
            "Hoa Kỳ",
            "Dự án nước sạch cho trường học",
            "1",  # Y tế, by number
            "bỏ qua",
            "1,1 triệu",
            "bỏ qua",
            "12/3",
            "Lưu",
        ]
    )
    chat = run(["chat", "--as", "hoa"], tmp_path, stdin=script + "\n")
    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    assert "Chào mừng hoa! Bạn đã được đăng ký là đầu mối đơn vị của UBND huyện Hương Sơn" in out
    assert "\n1. Y tế\n" in out  # choices are numbered
    assert "• Giá trị cam kết (USD): 1.100.000 USD" in out
    assert "Đã lưu hoạt động số 1 (Viện trợ phi chính phủ nước ngoài)" in out

    export = run(["export", "--format", "xlsx", "--out", str(tmp_path / "out.xlsx")], tmp_path)
    assert export.returncode == 0, export.stderr
    sheet = load_workbook(tmp_path / "out.xlsx")["vien_tro"]
    row = [c.value for c in sheet[2]]
    assert row[:3] == ["vien_tro", "UBND huyện Hương Sơn", "Tổ chức Tầm nhìn Thế giới"]
    assert "1100000" in row and f"12/03/{_this_year()}" in row


def _this_year() -> int:
    from datetime import date

    return date.today().year


def test_unregistered_console_user_gets_demo_codes_and_restart_keeps_the_draft(tmp_path):
    first = run(["chat", "--as", "lan"], tmp_path, stdin="xin chào\n")
    assert "Mã mời demo" in first.stdout and "chưa đăng ký" in first.stdout
    coordinator_code = first.stdout.split("Điều phối viên:")[1].split("/start")[1].split()[0]
    second = run(
        ["chat", "--as", "lan"],
        tmp_path,
        stdin=f"/start {coordinator_code}\n/moi\nsở tư pháp\n3\nHội thảo ABC\n",
    )
    assert "Đang làm việc với: Sở Tư pháp" in second.stdout
    assert "Đơn vị nào tổ chức?" in second.stdout
    third = run(["chat", "--as", "lan"], tmp_path, stdin="Sở Tư pháp\n")
    assert "Mã mời demo" not in third.stdout
    before_input = third.stdout.split("> Sở Tư pháp")[0]
    assert "trò chuyện trên terminal (lan)" in before_input  # not a bare prompt
    assert "Đơn vị nào tổ chức?" in before_input  # the pending question, asked again
    assert "Đơn vị nào phối hợp tổ chức?" in third.stdout


def test_both_demo_codes_work_in_the_same_terminal(tmp_path):
    first = run(["chat", "--as", "demo"], tmp_path, stdin="")
    codes = first.stdout.split("/start ")[1:]
    coordinator, focal = (part.split()[0] for part in codes[:2])
    second = run(
        ["chat", "--as", "demo"], tmp_path, stdin=f"/start {focal}\n/start {coordinator}\n"
    )
    assert "đầu mối đơn vị của Sở Ngoại vụ" in second.stdout
    assert "từ nay bạn là điều phối viên" in second.stdout
    assert "không đúng" not in second.stdout
    third = run(["chat", "--as", "demo"], tmp_path, stdin="")
    assert "Mã mời demo" not in third.stdout and "Soạn báo cáo" in third.stdout


def test_cli_reports_bad_input_clearly(tmp_path):
    bad = run(["invite", "--unit", "Sở Không Có", "--role", "focal_point"], tmp_path)
    assert bad.returncode == 2 and 'Không tìm thấy đơn vị "Sở Không Có"' in bad.stderr
    missing = run(["import", str(tmp_path / "none.csv")], tmp_path)
    assert missing.returncode == 2 and "Không có tệp" in missing.stderr
    units = run(["units", "list"], tmp_path)
    assert "Sở Ngoại vụ" in units.stdout and len(units.stdout.splitlines()) >= 40


def test_one_message_entry_in_the_terminal(tmp_path):
    code = run(["invite", "--unit", "Sở Tư pháp", "--role", "focal_point"], tmp_path)
    filled = "\n".join([
        "Loại hoạt động: Công tác biên giới",
        "Ngày: 12/4/2023",
        "Nội dung: Tiếp nhận hài cốt liệt sỹ",
        "Số hài cốt hồi hương (không bắt buộc): 11",
        "",
    ])  # fmt: skip
    script = f"/start {code.stdout.strip()}\n/nhanh biên giới\n{filled}\nlưu\n"
    chat = run(["chat", "--as", "tu"], tmp_path, stdin=script)
    out = chat.stdout
    assert "nhấn Enter thêm một lần ở dòng trống" in out  # how to paste in a terminal
    assert "Đã đọc 3/3 mục của mẫu Công tác biên giới" in out
    assert "• Số hài cốt hồi hương: 11" in out and "Đã lưu hoạt động số 1" in out
