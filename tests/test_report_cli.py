"""`doingoai report`: arguments, Vietnamese errors with exit code 2, files written."""

from __future__ import annotations

import argparse

import pytest
from docx import Document

from bot.report_cli import add_report_parser, run_report
from storage.transfer import import_records
from tests.conftest import FIXTURES, TZ_NOW


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="doingoai")
    add_report_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["report", *argv])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--out", "x.md"], "Cần chọn kỳ báo cáo"),
        (["--round", "2023-Y", "--from", "1/1/2023", "--out", "x.md"], "Chỉ dùng một"),
        (["--from", "1/1/2023", "--out", "x.md"], "Cần cả --from và --to"),
        (["--round", "2023-Q3", "--out", "x.md"], 'Đợt báo cáo "2023-Q3" không hợp lệ'),
        (["--round", "2023-Y", "--as-of", "31/02/2023", "--out", "x.md"], "ở --as-of"),
        (["--from", "1/6/2023", "--to", "1/5/2023", "--out", "x.md"], "đứng trước ngày bắt đầu"),
        (["--round", "2023-H1", "--as-of", "1/12/2022", "--out", "x.md"], "Ngày chốt số liệu"),
        (["--round", "2023-Y", "--template", "quy", "--out", "x.md"], 'Không có mẫu báo cáo "quy"'),
        (["--round", "2023-Y", "--out", "x.pdf"], 'Định dạng ".pdf" không hỗ trợ'),
        (["--round", "2023-Y", "--format", "odt", "--out", "x"], 'Định dạng "odt"'),
        (["--round", "2023-Y"], "Cần đường dẫn tệp kết quả"),
    ],
)
async def test_bad_arguments_exit_2_with_a_vietnamese_message(app, capsys, argv, message):
    assert await run_report(app, parse(*argv)) == 2
    assert message in capsys.readouterr().err


async def test_writes_each_format(app, tmp_path, capsys):
    async with app.sessions() as db, db.begin():
        result = await import_records(db, FIXTURES / "bao_cao_6_thang_2021.csv", TZ_NOW.date())
        assert not result.errors
    common = ["--round", "2021-H1", "--as-of", "25/5/2021"]
    md = tmp_path / "bc.md"
    assert await run_report(app, parse(*common, "--out", str(md))) == 0
    assert "15 đoàn với 179 lượt khách quốc tế" in md.read_text(encoding="utf-8")
    assert "Đã ghi" in capsys.readouterr().out
    docx = tmp_path / "bc.docx"
    assert await run_report(app, parse(*common, "--template", "nam", "--out", str(docx))) == 0
    assert any("Kính gửi: Ủy ban nhân dân tỉnh" in p.text for p in Document(str(docx)).paragraphs)
    xlsx = tmp_path / "bang"
    args = parse("--from", "01/01/2021", "--to", "31/12/2021", "--as-of", "25/5/2021",
                 "--format", "xlsx", "--out", str(xlsx))  # fmt: skip
    assert await run_report(app, args) == 0
    assert xlsx.read_bytes()[:2] == b"PK"


def parse_text(*argv: str) -> argparse.Namespace:
    return parse("text", *argv)


async def test_standing_texts_set_listed_and_carried(app, tmp_path, capsys):
    text = tmp_path / "bien-gioi.txt"
    text.write_text("Tuyến biên giới cơ bản ổn định.\nTuần tra 51 đợt.\n", encoding="utf-8")
    args = parse_text("set", "--round", "2022-Y", "--section", "bien_gioi", "--file", str(text))
    assert await run_report(app, args) == 0
    assert 'Đã lưu đoạn văn mục "Biên giới lãnh thổ" cho đợt năm 2022' in capsys.readouterr().out
    assert await run_report(app, parse_text("list", "--round", "2023-Y")) == 0
    listing = capsys.readouterr().out
    assert "bien_gioi\tBiên giới lãnh thổ: mang sang từ đợt năm 2022, cần rà soát" in listing
    assert "kho_khan\tKhó khăn, vướng mắc: chưa có đoạn văn" in listing
    out = tmp_path / "bc.md"
    assert await run_report(app, parse("--round", "2023-Y", "--as-of", "10/10/2023",
                                       "--out", str(out))) == 0  # fmt: skip
    assert "[RÀ SOÁT SỐ LIỆU] Tuần tra 51 đợt." in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["set", "--round", "2023-Q", "--section", "khac", "--file", "x"], "không hợp lệ"),
        (["set", "--round", "2023-Y", "--section", "xyz", "--file", "x"], 'Không có mục "xyz"'),
        (["set", "--round", "2023-Y", "--section", "khac"], "Cần tệp chứa đoạn văn"),
        (["set", "--round", "2023-Y", "--section", "khac", "--file", "/nope.txt"], "Không có tệp"),
    ],
)
async def test_bad_text_arguments_exit_2(app, capsys, argv, message):
    assert await run_report(app, parse_text(*argv)) == 2
    assert message in capsys.readouterr().err


async def test_header_flags_and_a_saved_header(app, tmp_path):
    out = tmp_path / "bc.md"
    args = parse(
        "--round", "2021-H1", "--as-of", "25/5/2021", "--template", "kh_dt",
        "--request-number", "3194/UBND-TH", "--request-date", "25/5/2021",
        "--request-issuer", "UBND tỉnh", "--signer-title", "KT. GIÁM ĐỐC",
        "--signer-title", "PHÓ GIÁM ĐỐC", "--signer-name", "Nguyễn Văn A",
        "--sign-date", "28/5/2021", "--save-header", "--out", str(out),
    )  # fmt: skip
    assert await run_report(app, args) == 0
    text = out.read_text(encoding="utf-8")
    assert "Thực hiện văn bản số 3194/UBND-TH ngày 25/5/2021 của UBND tỉnh;" in text
    assert "*Hà Tĩnh, ngày 28 tháng 5 năm 2021*" in text and "**Nguyễn Văn A**" in text
    # Saved for the round: the next draft of the same report has it without the flags.
    again = tmp_path / "lan-2.md"
    args = parse("--round", "2021-H1", "--as-of", "25/5/2021", "--template", "kh_dt",
                 "--out", str(again))  # fmt: skip
    assert await run_report(app, args) == 0
    assert "**KT. GIÁM ĐỐC**  \n**PHÓ GIÁM ĐỐC**" in again.read_text(encoding="utf-8")


async def test_saving_a_header_needs_a_round(app, capsys):
    args = parse("--from", "1/1/2021", "--to", "31/3/2021", "--save-header", "--out", "x.md")
    assert await run_report(app, args) == 2
    assert "--save-header chỉ dùng với một đợt" in capsys.readouterr().err
