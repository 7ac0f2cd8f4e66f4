"""The self-service behind the access page: ask for a link, set a password with it.

``request_access`` runs out of band (the page answers before it starts) and its
result is never shown: a PESEL or e-mail that matches nothing, an e-mail before
first activation, a disabled account: all end the same, with nothing sent.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field

from ..adapters import accounts, outbox, tokens
from ..adapters.directory import Directory
from ..adapters.state import State
from ..core import password as policy_mod
from ..core import pesel as pesel_mod
from ..core.validate import hasher, normalize_email
from ..settings import Settings
from . import notices


def looks_like_pesel(identifier: str) -> bool:
    return identifier.replace(" ", "").isdigit()


def targets(settings: Settings, directory: Directory, identifier: str) -> list[accounts.Entry]:
    """The accounts a request may send a link for (usually one, none when nothing fits)."""
    identifier = identifier.strip()
    if looks_like_pesel(identifier):
        try:
            value = pesel_mod.normalize(identifier)
        except pesel_mod.InvalidPesel:
            return []
        entry = accounts.by_pesel_hmac(directory, hasher(settings.pesel_key())(value))
        found = [entry] if entry else []
    else:
        try:
            address = normalize_email(identifier)
        except ValueError:
            return []
        # Before the first activation only the PESEL proves who is asking.
        found = [e for e in accounts.by_mail(directory, address or "") if e.activated]
    return [e for e in found if e.mail and not e.disabled]


def request_access(settings: Settings, identifier: str, language: str,
                   now: dt.datetime | None = None) -> int:
    """Queue a link for whatever account the identifier names and send it; returns how
    many were queued (for tests and logs only, never for the page)."""
    now = now or notices.utcnow()
    with Directory(settings) as directory, State(settings.state.url) as state:
        queued = sum(outbox.enqueue(state, kind=notices.ACCESS, dn=e.dn, login=e.login,
                                    account_key=e.key, recipient=e.mail, first_name=e.first_name,
                                    language=language, now=now)
                     for e in targets(settings, directory, identifier))
    if queued:
        notices.send_outbox(settings, now)
    return queued


@dataclass(slots=True)
class Attempt:
    """The result of opening a link or submitting a password."""

    valid: bool  # False: unknown, used, expired or revoked link (the page says only that)
    login: str = ""
    problems: list[str] = field(default_factory=list)  # policy codes
    refusal: str | None = None  # the directory's refusal (ppolicy), shown as is
    done: bool = False


def grant_for(settings: Settings, state: State, directory: Directory, token: str,
              now: dt.datetime) -> tuple[tokens.Grant, accounts.Entry] | None:
    grant = tokens.check(state, token, now)
    if grant is None:
        return None
    entry = accounts.get(directory, grant.dn)
    # The entry must still be the account the token was made for, and usable.
    if entry is None or not hmac.compare_digest(entry.key, grant.account_key) or entry.disabled:
        return None
    return grant, entry


def open_link(settings: Settings, token: str, now: dt.datetime | None = None) -> Attempt:
    now = now or notices.utcnow()
    with Directory(settings) as directory, State(settings.state.url) as state:
        found = grant_for(settings, state, directory, token, now)
    return Attempt(True, found[1].login) if found else Attempt(False)


def policy_of(settings: Settings) -> policy_mod.Policy:
    return policy_mod.Policy(settings.web.password_min_length, settings.web.password_check_common)


def set_password(settings: Settings, token: str, password: str, confirm: str,
                 now: dt.datetime | None = None) -> Attempt:
    """Check the policy, set the password (Password Modify), then use up the token."""
    now = now or notices.utcnow()
    digest = hasher(settings.pesel_key())
    with Directory(settings) as directory, State(settings.state.url) as state:
        found = grant_for(settings, state, directory, token, now)
        if found is None:
            return Attempt(False)
        grant, entry = found
        attempt = Attempt(True, entry.login)
        attempt.problems = policy_mod.problems(
            password, login=entry.login, names=(entry.first_name, entry.last_name),
            is_pesel=lambda run: hmac.compare_digest(digest(run), entry.key),
            policy=policy_of(settings), confirm=confirm)
        if attempt.problems:
            return attempt
        # Take the token first, so two requests racing with one link cannot both pass;
        # give it back if the directory refuses the password.
        if not tokens.consume(state, grant, now):
            return Attempt(False)
        attempt.refusal = directory.set_password(entry.dn, password)
        if attempt.refusal is not None:
            tokens.release(state, grant)
            return attempt
        if not entry.activated:
            # The password is set either way; a failure here only delays the e-mail option.
            accounts.mark_activated(directory, entry.dn, now)
        attempt.done = True
    return attempt
