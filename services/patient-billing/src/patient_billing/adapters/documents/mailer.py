"""Email delivery of documents over SMTP. The message says a document is ready and links to the portal; it never
carries PHI (no names, amounts, dates of service or diagnoses), since email is not a secure channel."""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, mail.to, mail.subject
        message.set_content(mail.body)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


def statement_ready(to: str, portal_link: str, expires_on: str) -> Mail:
    """The statement email: a link to the portal, nothing about the patient or the money."""
    return Mail(to=to, subject="A new billing statement is ready", body=(
        "Hello,\n\nA new billing statement is ready for you in the patient portal:\n\n"
        f"{portal_link}\n\nThe link works until {expires_on}. After that, sign in to the portal to see your "
        "statements.\n\nThis message does not contain details of your account. If you did not expect it, you can "
        "ignore it.\n"))
