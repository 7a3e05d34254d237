"""A real SMTP server on 127.0.0.1 (aiosmtpd) for tests: it keeps every message it accepts
and refuses the recipients it is told to, with "550 5.1.1 mailbox unavailable"."""

from __future__ import annotations

import asyncio
import email
import email.policy
import warnings
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, AuthResult

REFUSAL = "550 5.1.1 <{address}>: mailbox unavailable"


class _Handler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower() in self.refused:
            return REFUSAL.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


class FakeSMTP:
    """``async with FakeSMTP() as smtp: ... smtp.port ... smtp.to("a@b.vn")``: served in
    the test's own event loop."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self._handler = _Handler()
        self._server: asyncio.Server | None = None
        self.credentials = credentials  # then AUTH LOGIN/PLAIN is offered and required

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        given = (auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=given == self.credentials, handled=False)

    def _protocol(self) -> SMTP:
        if self.credentials is None:
            return SMTP(self._handler, hostname="smtp.test")
        with warnings.catch_warnings():  # plain AUTH is fine on loopback in tests
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(
                self._handler, hostname="smtp.test", authenticator=self._authenticate,
                auth_required=True, auth_require_tls=False,
            )  # fmt: skip

    async def __aenter__(self) -> FakeSMTP:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    def refuse(self, address: str) -> None:
        self._handler.refused.add(address.lower())

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._handler.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self._handler.messages if m["To"] == address]

    def settings(self) -> dict[str, object]:
        """The DOINGOAI_SMTP_* settings that reach this server."""
        user, password = self.credentials or ("", "")
        return {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": "none",
            "smtp_from": "Sở Ngoại vụ <baocao@songoaivu.example.vn>",
            "smtp_user": user,
            "smtp_password": password,
        }
