"""`/files/<token>` serves generated files of the data directory and nothing else, even
for a link stored with another path."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer

from bot.web import build_web_app
from storage import repo


async def link_to(app, path) -> str:
    async with app.sessions() as db, db.begin():
        return await repo.create_file_link(db, str(path), path.name, timedelta(hours=1))


async def test_only_generated_files_of_the_data_directory_are_served(app, tmp_path):
    data = app.settings.data_dir
    report = data / "reports" / "bao-cao.docx"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_bytes(b"report")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not for download")
    (data / "reports" / "escape").symlink_to(outside)
    secret = data / "secret.key"
    assert secret.is_file()
    client = TestClient(TestServer(build_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.get(f"/files/{await link_to(app, report)}")
        assert response.status == 200 and await response.read() == b"report"
        refused = [
            outside,
            secret,
            data / "reports" / ".." / "secret.key",
            data / "reports" / "escape",
            data / "doingoai.db",
            "/etc/passwd",
        ]
        for path in refused:
            token = await link_to(app, type(report)(path))
            response = await client.get(f"/files/{token}")
            assert response.status == 404, path
            assert "hết hạn" in await response.text()
    finally:
        await client.close()
