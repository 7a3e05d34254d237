"""A message that fails is logged without what the person typed: a failed registration
must not write a live invite code to the log."""

from __future__ import annotations

import logging

from storage import repo
from tests.conftest import ChatUser, invite_code


async def test_a_failed_registration_does_not_log_the_code(app, monkeypatch, caplog):
    code = await invite_code(app)

    async def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(repo, "redeem_invite", broken)
    user = ChatUser(app, "leak")
    with caplog.at_level(logging.DEBUG):
        await user.send(f"/start {code}")
    assert "hệ thống gặp sự cố" in user.text
    logged = (
        "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
        + caplog.text
    )
    assert "the database went away" in logged  # the failure itself is logged
    assert code not in logged and code.lower() not in logged.lower()


async def test_a_database_error_does_not_log_the_values(app, caplog):
    from sqlalchemy import text

    secret = "Nội dung mật 123"
    try:
        async with app.sessions() as db, db.begin():
            await db.execute(text("INSERT INTO no_such_table VALUES (:v)"), {"v": secret})
    except Exception as error:  # the message a handler's log line would carry
        assert secret not in str(error)
    else:
        raise AssertionError("the statement should fail")


def test_anything_shaped_like_an_invite_code_is_masked_in_log_lines(tmp_path, capsys):
    from bot import logs
    from tests.conftest import make_settings

    logs.configure(make_settings(tmp_path, log_level="INFO"))
    try:
        for code in ("KQTM-BFRZ-HNPX", "kqtm bfrz hnpx", "KQTMBFRZHNPX"):
            try:
                raise ValueError(f"no invite for {code}")
            except ValueError:
                logging.getLogger("handlers").exception("registration of %s failed", code)
        err = capsys.readouterr().err
    finally:
        logging.getLogger().handlers.clear()
    assert err.count("registration of *** failed") == 3
    assert err.count("ValueError: no invite for ***") == 3
    assert "BFRZ" not in err.upper()
