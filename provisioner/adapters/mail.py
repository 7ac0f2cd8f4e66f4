"""Handing a message to the mail system: SMTP (smtplib) or .eml files in a folder.

Errors are sorted into two kinds the sender acts on: ``Permanent`` (the server
refused this message or its recipient with a 5xx: retrying cannot help) and
``Temporary`` (anything else: connection, TLS, authentication, 4xx), retried
later with backoff. A temporary error stops the batch: the next notice would
meet the same unreachable server.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path

from ..settings import Settings


class Temporary(Exception):
    """Try again later."""


class Permanent(Exception):
    """Retrying cannot help (5xx for this message or recipient)."""


class Transport:
    """Sends messages over one SMTP connection, opened on the first message."""

    def __init__(self, settings: Settings) -> None:
        self.mail = settings.mail
        self.password = settings.smtp_password() if settings.mail.smtp_user else None
        self.smtp: smtplib.SMTP | None = None

    @property
    def writes_files(self) -> bool:
        return not self.mail.smtp_host

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def send(self, message: EmailMessage, name: str) -> str:
        """Deliver one message; returns where it went. Raises ``Temporary``/``Permanent``."""
        if self.writes_files:
            return write_eml(Path(self.mail.outbox_dir), name, message)
        try:
            smtp = self.connect()
            refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise (Permanent if all(c >= 500 for c in codes) else Temporary)(
                f"recipient refused: {describe(exc.recipients)}") from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self.close()
            raise (Permanent if exc.smtp_code >= 500 else Temporary)(
                f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}") from exc
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            self.close()
            where = f"{self.mail.smtp_host}:{self.mail.smtp_port}"
            raise Temporary(f"{where}: {exc or type(exc).__name__}") from exc
        if refused:
            raise Permanent(f"recipient refused: {describe(refused)}")
        return f"smtp://{self.mail.smtp_host}:{self.mail.smtp_port}"

    def connect(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        mail, context = self.mail, ssl.create_default_context()
        if mail.smtp_tls == "tls":
            smtp = smtplib.SMTP_SSL(mail.smtp_host, mail.smtp_port, timeout=mail.smtp_timeout,
                                    context=context)
        else:
            smtp = smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=mail.smtp_timeout)
        try:
            if mail.smtp_tls == "starttls":
                smtp.starttls(context=context)
            if mail.smtp_user:
                smtp.login(mail.smtp_user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        self.smtp = smtp
        return smtp


def describe(refused: dict) -> str:
    return "; ".join(f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                     for code, msg in refused.values())


def write_eml(folder: Path, name: str, message: EmailMessage) -> str:
    """Write atomically (temp file + rename), so a reader never sees half a message."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.eml"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".eml")
    with os.fdopen(fd, "wb") as fh:
        fh.write(message.as_bytes())
    os.chmod(tmp, 0o600)  # the message carries a live link
    os.replace(tmp, target)
    return str(target)
