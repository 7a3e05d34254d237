"""Every page of the workspace with who may open it. Adding a page is one line here, a
view and a template (and a NavItem in core.NAV to show it in the menu)."""

from __future__ import annotations

from aiohttp import web

from bot.webui import (
    admin_views,
    auth_views,
    chart_views,
    draft_views,
    import_views,
    record_views,
    round_views,
)
from bot.webui.core import (
    PREFIX,
    STATIC_DIR,
    WORKSPACE,
    Workspace,
    csrf,
    guarded,
    pages,
    sessions,
)

# (method, path under /web, view, access)
ROUTES = (
    ("GET", "/login", auth_views.password_page, "public"),
    ("POST", "/login", auth_views.password_sign_in, "public"),
    ("GET", "/login/{token}", auth_views.link_page, "public"),
    ("POST", "/login/{token}", auth_views.link_sign_in, "public"),
    ("POST", "/logout", auth_views.sign_out, "member"),
    ("GET", "/password", auth_views.password_settings, "coordinator"),
    ("POST", "/password", auth_views.save_password, "coordinator"),
    ("GET", "/", round_views.home, "member"),
    ("GET", "/rounds/{round_id}", round_views.round_page, "coordinator"),
    ("POST", "/rounds/{round_id}/remind", round_views.remind, "coordinator"),
    ("POST", "/rounds/{round_id}/confirm", round_views.confirm, "member"),
    ("GET", "/rounds/{round_id}/draft", draft_views.draft_page, "coordinator"),
    ("POST", "/rounds/{round_id}/draft/text", draft_views.save_text, "coordinator"),
    ("POST", "/rounds/{round_id}/draft/header", draft_views.save_header, "coordinator"),
    ("GET", "/rounds/{round_id}/draft/file/{fmt}", draft_views.download, "coordinator"),
    ("POST", "/rounds/{round_id}/draft/import", draft_views.import_previous, "coordinator"),
    ("GET", "/rounds/{round_id}/draft/ref/{index}", draft_views.figure_records, "coordinator"),
    ("GET", "/records", record_views.records_table, "member"),
    ("GET", "/records/export/{fmt}", record_views.export, "member"),
    ("GET", "/records/new", record_views.new_page, "member"),
    ("POST", "/records/new", record_views.save_new, "member"),
    ("GET", "/records/{record_id}", record_views.record_page, "member"),
    ("GET", "/records/{record_id}/edit", record_views.edit_page, "member"),
    ("POST", "/records/{record_id}/edit", record_views.save_edit, "member"),
    ("GET", "/records/{record_id}/delete", record_views.delete_page, "member"),
    ("POST", "/records/{record_id}/delete", record_views.delete, "member"),
    ("GET", "/import", import_views.upload_page, "member"),
    ("POST", "/import", import_views.receive, "member"),
    ("POST", "/import/map", import_views.map_columns, "member"),
    ("POST", "/import/confirm", import_views.confirm, "member"),
    ("GET", "/charts", chart_views.charts, "member"),
    ("GET", "/invites", admin_views.invites_page, "coordinator"),
    ("POST", "/invites", admin_views.create_invite, "coordinator"),
    ("POST", "/invites/{invite_id}/revoke", admin_views.revoke_invite, "coordinator"),
    ("GET", "/units", admin_views.units_page, "coordinator"),
    ("POST", "/units", admin_views.add_unit, "coordinator"),
    ("POST", "/units/{unit_id}/rename", admin_views.rename_unit, "coordinator"),
    ("POST", "/units/{unit_id}/merge", admin_views.merge_unit, "coordinator"),
    ("POST", "/units/{unit_id}/active", admin_views.set_active, "coordinator"),
)


async def _to_workspace(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(f"{PREFIX}/")


def add_workspace(web_app: web.Application, workspace: Workspace) -> None:
    """Mount the pages, their static files and middlewares on the backend."""
    web_app[WORKSPACE] = workspace
    web_app.middlewares.extend([pages, sessions, csrf])
    for method, path, view, access in ROUTES:
        web_app.router.add_route(method, PREFIX + path, guarded(access, view))
    web_app.router.add_get(PREFIX, _to_workspace)
    web_app.router.add_get("/", _to_workspace)
    web_app.router.add_static(f"{PREFIX}/static/", STATIC_DIR)
