"""`doingoai doctor` names what is wrong with a deployment, one line each, and exits 1."""

from __future__ import annotations

from datetime import datetime

from telegram import Bot

from bot.app import open_app
from bot.doctor import run_doctor
from tests.conftest import TZ_NOW, make_settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI
from tests.test_telegram import TOKEN, telegram_settings
from tests.test_zalo import TOKEN as ZALO_TOKEN
from tests.test_zalo import zalo_settings

MAY = datetime.fromisoformat("2023-05-10T09:00:00+07:00")


async def migrated(settings):
    app = await open_app(settings, clock=lambda: TZ_NOW)
    await app.close()
    return settings


async def test_a_healthy_deployment_passes_every_check(tmp_path, capsys):
    async with FakeTelegramAPI(token=TOKEN) as fake:
        settings = await migrated(telegram_settings(tmp_path, fake))
        assert await run_doctor(settings, now=MAY) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith("✓ ") for line in lines), lines
    assert "✓ Telegram nhận token (bot @doingoai_test_bot)." in lines
    assert "✓ Telegram: không đặt webhook, đúng chế độ polling." in lines
    assert "✓ Lần nhắc tiếp theo của đợt 6 tháng đầu năm 2023: 18/05/2023 08:00." in lines


async def test_a_rejected_token_is_named(tmp_path, capsys):
    async with FakeTelegramAPI(token=TOKEN) as fake:
        settings = telegram_settings(tmp_path, fake).model_copy(
            update={"telegram_bot_token": "999:WRONG-token-for-test"}
        )
        await migrated(settings)
        assert await run_doctor(settings, now=MAY) == 1
    out = capsys.readouterr().out
    assert "✗ Telegram từ chối token: kiểm tra DOINGOAI_TELEGRAM_BOT_TOKEN." in out
    assert "WRONG-token" not in out


async def test_a_webhook_pointing_elsewhere_is_named(tmp_path, capsys):
    async with FakeTelegramAPI(token=TOKEN) as fake:
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            await bot.set_webhook("https://old-server.example.vn/telegram/webhook")
        settings = await migrated(
            telegram_settings(tmp_path, fake, telegram_mode="webhook",
                              public_base_url="https://doingoai.songoaivu.example.vn")
        )  # fmt: skip
        assert await run_doctor(settings, now=MAY) == 1
    out = capsys.readouterr().out
    assert (
        '✗ Telegram: webhook đang trỏ tới "https://old-server.example.vn/telegram/webhook",'
        ' cấu hình cần "https://doingoai.songoaivu.example.vn/telegram/webhook".' in out
    )


async def test_zalo_checks_its_token_and_webhook(tmp_path, capsys):
    async with FakeZaloAPI(token=ZALO_TOKEN) as fake:
        settings = await migrated(zalo_settings(tmp_path, fake))
        assert await run_doctor(settings, now=MAY) == 0
    assert "✓ Zalo: không đặt webhook, đúng chế độ polling." in capsys.readouterr().out


async def test_an_unreachable_or_unmigrated_database_is_named(tmp_path, capsys):
    closed = make_settings(tmp_path, database_url="postgresql+asyncpg://u@127.0.0.1:1/doingoai")
    assert await run_doctor(closed, now=MAY) == 1
    assert "✗ Không kết nối được cơ sở dữ liệu:" in capsys.readouterr().out
    empty = make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert await run_doctor(empty, now=MAY) == 1
    assert "✗ Cơ sở dữ liệu ở phiên bản —, mới nhất là" in capsys.readouterr().out


async def test_smtp_login_is_checked(tmp_path, capsys):
    from tests.fakes.smtp import FakeSMTP

    async with FakeSMTP(credentials=("baocao", "dung-mat-khau")) as smtp:
        good = await migrated(make_settings(tmp_path / "a", **smtp.settings()))
        assert await run_doctor(good, now=MAY) == 0
        assert f"✓ Máy chủ thư 127.0.0.1:{smtp.port} nhận kết nối và đăng nhập." in (
            capsys.readouterr().out
        )
        wrong = good.model_copy(update={"smtp_password": "sai-mat-khau"})
        assert await run_doctor(wrong, now=MAY) == 1
        out = capsys.readouterr().out
        assert "✗ Máy chủ thư từ chối đăng nhập" in out and "sai-mat-khau" not in out
    closed = good.model_copy(update={"smtp_port": 1})
    assert await run_doctor(closed, now=MAY) == 1
    assert "✗ Không kết nối được máy chủ thư" in capsys.readouterr().out


def test_a_zalo_webhook_must_be_public_https(tmp_path):
    """Zalo refuses webhook URLs that are not public HTTPS: the settings say so first."""
    import pytest
    from pydantic import ValidationError

    from domain.settings import settings_problems, webhook_url_problem

    for url in ("http://doingoai.example.vn", "https://127.0.0.1:8443", "https://10.1.2.3",
                "https://192.168.1.5", "https://localhost", ""):  # fmt: skip
        assert webhook_url_problem(url) is not None, url
    assert webhook_url_problem("https://bot.songoaivu.hatinh.gov.vn") is None
    with pytest.raises(ValidationError) as caught:
        make_settings(tmp_path, zalo_bot_token="t", public_base_url="https://192.168.1.5")
    [line] = settings_problems(caught.value)
    assert line.startswith("DOINGOAI_PUBLIC_BASE_URL = https://192.168.1.5: Zalo chỉ gửi webhook")
    auto = make_settings(tmp_path, zalo_bot_token="t", public_base_url="https://bot.example.vn")
    assert auto.zalo_webhook  # public: the webhook by default
    local = make_settings(tmp_path, zalo_bot_token="t", zalo_mode="polling",
                          public_base_url="http://127.0.0.1:8080")  # fmt: skip
    assert not local.zalo_webhook
    assert not make_settings(tmp_path, zalo_bot_token="t").zalo_webhook


async def test_little_free_space_is_named_before_the_bot_must_stop(tmp_path, capsys):
    settings = await migrated(make_settings(tmp_path / "data"))
    cramped = settings.model_copy(update={"min_free_mb": 10**9})  # ten times that is needed
    assert await run_doctor(cramped, now=MAY) == 1
    out = capsys.readouterr().out
    assert f"(cần ít nhất {10**10} MB)" in out
