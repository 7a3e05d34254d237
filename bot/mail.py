"""E-mail channel: reminders, summaries, verification codes and reports over SMTP
(aiosmtplib), to the official addresses focal points and coordinators link.

Identities on this channel have the address as both user and chat id. Sends answer like the
messengers' (SENT or "failed: <reason>"); an address the server refuses ("smtp 550 ...")
is recorded per reminder. Bounces that arrive later, by mail, are not read.
"""

from __future__ import annotations

import logging
import mimetypes
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from pathlib import Path

import aiosmtplib

from domain.catalog import t
from domain.messages import FAILED, SENT, Delivery, Outgoing
from domain.settings import Settings
from templates.email import render_bodies

log = logging.getLogger(__name__)

CHANNEL = "email"


class EmailChannel:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _options(self) -> dict:
        settings = self.settings
        options = {
            "hostname": settings.smtp_host,
            "port": settings.smtp_port,
            "timeout": settings.smtp_timeout_seconds,
            "use_tls": settings.smtp_security == "tls",
            "start_tls": settings.smtp_security == "starttls",
        }
        if settings.smtp_user:
            options |= {"username": settings.smtp_user, "password": settings.smtp_password}
        return options

    def compose(
        self, address: str, subject: str, text: str, attachment: Path | None = None
    ) -> EmailMessage:
        """A Vietnamese message: plain text and HTML bodies, the file attached if any."""
        message = EmailMessage()
        name, sender = parseaddr(self.settings.smtp_from)
        message["From"] = formataddr((name or self.settings.department_name, sender))
        message["To"] = address
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        values = {
            "subject": subject,
            "text": text,
            "attachment": attachment.name if attachment else "",
            "department": self.settings.department_name,
        }
        plain, html = render_bodies(**values)
        message.set_content(plain)
        message.add_alternative(html, subtype="html")
        if attachment is not None:
            kind = mimetypes.guess_type(attachment.name)[0] or "application/octet-stream"
            maintype, subtype = kind.split("/", 1)
            message.add_attachment(
                attachment.read_bytes(), maintype=maintype, subtype=subtype,
                filename=attachment.name,
            )  # fmt: skip
        return message

    async def transmit(self, outgoing: Outgoing, done: int = 0) -> Delivery:
        """A reply, reminder or summary to the address in ``chat_id`` (the outbox's sender
        and the reminders call this). `done` above 0: an earlier attempt sent it."""
        if done:
            return Delivery(SENT)
        subject = outgoing.subject or t(
            "email.default_subject", department=self.settings.department_name
        )
        return await self._hand_over(
            self.compose(outgoing.chat_id, subject, outgoing.text, outgoing.file_path)
        )

    async def send(self, outgoing: Outgoing) -> str:
        """Like `transmit`, as SENT or "failed: <reason>" (the chat's report by mail)."""
        return (await self.transmit(outgoing)).summary

    async def send_code(self, address: str, code: str) -> str:
        """The code that proves a person reads this address."""
        minutes = self.settings.email_code_minutes
        text = t(
            "email_link.code_mail", code=code, minutes=minutes,
            department=self.settings.department_name,
        )  # fmt: skip
        subject = t("email.code_subject", department=self.settings.department_name)
        return (await self._hand_over(self.compose(address, subject, text))).summary

    async def _hand_over(self, message: EmailMessage) -> Delivery:
        """Hand the message to the SMTP server: SENT, or FAILED with "smtp <code> <reply>"
        when it refuses (tried again later for a temporary 4xx refusal), "smtp-connect
        <error>" when it cannot be reached (tried again later)."""
        try:
            await aiosmtplib.send(message, **self._options())
        except aiosmtplib.SMTPRecipientsRefused as error:
            refused = error.recipients[0]
            return _refused(refused.code, refused.message)
        except aiosmtplib.SMTPResponseException as error:
            return _refused(error.code, error.message)
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning("SMTP server %s unreachable: %s", self.settings.smtp_host, error)
            return Delivery(FAILED, error=f"smtp-connect {error}", retry=True)
        return Delivery(SENT)

    async def check_login(self) -> None:
        """Connect and log in (when a user is set), then quit: `doingoai doctor`."""
        options = self._options()
        client = aiosmtplib.SMTP(
            hostname=options["hostname"], port=options["port"], timeout=options["timeout"],
            use_tls=options["use_tls"], start_tls=options["start_tls"],
        )  # fmt: skip
        async with client:
            if self.settings.smtp_user:
                await client.login(self.settings.smtp_user, self.settings.smtp_password)


def _refused(code: int, message: str) -> Delivery:
    return Delivery(FAILED, error=f"smtp {code} {message}", retry=400 <= code < 500)
