"""A notice as an e-mail: Jinja2 templates (plain text + HTML), Polish or English.

Templates are looked up in ``mail.template_dir`` first, then in the bundled
``provisioner/templates/mail``; the first line of the text template is the subject.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path

import jinja2

from ..settings import Settings

BUNDLED = Path(__file__).parents[1] / "templates" / "mail"


@lru_cache(maxsize=8)
def environment(override: str) -> jinja2.Environment:
    folders = [override, str(BUNDLED)] if override else [str(BUNDLED)]
    # Autoescape the HTML part only; the text part must keep "<" and "&" as they are.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folders), keep_trailing_newline=True,
                              autoescape=jinja2.select_autoescape(["html"]),
                              undefined=jinja2.StrictUndefined)


def plural_pl(n: int, one: str, few: str, many: str) -> str:
    if n == 1:
        return one
    return few if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14) else many


def duration(lifetime: dt.timedelta, language: str) -> str:
    """'14 dni' / '14 days', '60 minut' / '60 minutes'."""
    minutes = round(lifetime.total_seconds() / 60)
    if minutes % (24 * 60) == 0:
        n = minutes // (24 * 60)
        return f"{n} {plural_pl(n, 'dzień', 'dni', 'dni')}" if language == "pl" else \
            f"{n} day{'s' if n != 1 else ''}"
    if minutes % 60 == 0 and minutes > 60:
        n = minutes // 60
        return f"{n} {plural_pl(n, 'godzinę', 'godziny', 'godzin')}" if language == "pl" else \
            f"{n} hours"
    return f"{minutes} {plural_pl(minutes, 'minutę', 'minuty', 'minut')}" if language == "pl" else \
        f"{minutes} minute{'s' if minutes != 1 else ''}"


def render(settings: Settings, *, kind: str, language: str, recipient: str, login: str,
           first_name: str | None, link: str, expires: dt.datetime, lifetime: dt.timedelta,
           message_id: str) -> EmailMessage:
    env = environment(settings.mail.template_dir)
    context = {"login": login, "first_name": first_name, "link": link, "lang": language,
               "base_url": settings.web.base_url, "valid_for": duration(lifetime, language),
               "valid_until": expires.astimezone().strftime("%d.%m.%Y %H:%M")}
    text = env.get_template(f"{kind}.{language}.txt").render(context)
    subject, _, body = text.partition("\n")
    message = EmailMessage()
    message["Subject"] = subject.strip()
    message["From"] = settings.mail.sender
    message["To"] = recipient
    message["Date"] = email.utils.formatdate(localtime=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to us
    message.set_content(body.lstrip("\n"))
    message.add_alternative(env.get_template(f"{kind}.{language}.html").render(context), subtype="html")
    return message
