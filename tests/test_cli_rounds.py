"""`doingoai round`, `status`, `remind --dry-run` and `units import`, run in process."""

from __future__ import annotations

import argparse
from datetime import date

from bot.cli import build_parser
from bot.cli_rounds import run_remind, run_round, run_status
from storage import repo
from storage.units_file import import_units
from tests.conftest import registered


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


async def test_ad_hoc_round_added_listed_and_refused_when_wrong(app, capsys):
    next_year = date.today().year + 1
    ok = args("round", "add", "--from", f"1/7/{next_year}", "--to", f"30/9/{next_year}",
              "--deadline", f"15/10/{next_year}", "--message", "Phục vụ hội nghị")  # fmt: skip
    assert await run_round(app, ok) == 0
    assert f"Đã tạo đợt {next_year}-A1" in capsys.readouterr().out
    backwards = args("round", "add", "--from", f"1/7/{next_year}", "--to", f"1/6/{next_year}",
                     "--deadline", f"15/10/{next_year}")  # fmt: skip
    assert await run_round(app, backwards) == 2
    assert "không được trước ngày bắt đầu" in capsys.readouterr().err
    past = args("round", "add", "--from", "1/1/2020", "--to", "2/1/2020", "--deadline", "3/1/2020")
    assert await run_round(app, past) == 2
    assert "quá khứ" in capsys.readouterr().err
    assert await run_round(app, args("round", "list")) == 0
    listing = capsys.readouterr().out
    assert f"{next_year}-A1\tđột xuất “Phục vụ hội nghị”" in listing
    assert f"{date.today().year}-H1\t6 tháng đầu năm" in listing


async def test_status_of_a_round_and_an_unknown_one(app, capsys):
    assert await run_status(app, args("status", "--round", "2023-h1")) == 2  # not created yet
    assert "Không tìm thấy đợt báo cáo 2023-h1" in capsys.readouterr().err
    assert await run_status(app, args("status")) == 0
    out = capsys.readouterr().out
    assert "Tiến độ đợt" in out and "⏳ Sở Ngoại vụ — chưa có hoạt động" in out


async def test_remind_dry_run_lists_who_and_refuses_a_bad_moment(app, capsys):
    await registered(app, "cli1", unit="Sở Y tế")
    year = date.today().year
    assert await run_remind(app, args("remind", "--dry-run", "--at", f"24/05/{year} 08:30")) == 0
    out = capsys.readouterr().out
    assert f"{year}-H1\td1\tSở Y tế" in out and "nhắc trước hạn 1 ngày" in out
    assert await run_remind(app, args("remind", "--dry-run", "--at", "hôm kia lúc x")) == 2
    assert "không hợp lệ" in capsys.readouterr().err
    assert await run_remind(app, args("remind")) == 2
    assert "--dry-run" in capsys.readouterr().err


async def test_units_import_adds_only_new_units(app, tmp_path):
    extra = tmp_path / "units.csv"
    extra.write_text("ma,ten,nhom\nso-ngoai-vu,Sở Ngoại vụ,so_nganh\nbqlkt,Ban Mới,khac\n")
    async with app.sessions() as db, db.begin():
        assert await import_units(db, extra) == (1, 1)
        assert (await repo.unit_by_name(db, "ban moi")).code == "bqlkt"
