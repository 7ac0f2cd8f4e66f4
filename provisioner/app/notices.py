"""Activation notices: queued as a sync writes, sent from the outbox by SMTP (or to files).

Sending is claim → send → mark. The claim (status ``sending``, attempt counted)
is committed before the message leaves, so a sender that crashes between the
server's "250 OK" and marking the row ``sent`` leaves the row ``sending``; such a
row is later recorded as failed ("may or may not have been delivered") and is
never sent again on its own. That makes a notice go out at most once, never
twice with two different links; the window is the few milliseconds between the
server's reply and the commit, and the person can still ask for a link on the
access page (an administrator can requeue it: ``provisioner notices retry ID``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from ..adapters import mail, outbox, tokens
from ..adapters.state import State
from ..core.plan import Change
from ..core.snapshot import Snapshot
from ..settings import Settings
from . import messages

ACTIVATION, ACCESS = "activation", "access"


@dataclass(slots=True)
class SendReport:
    sent: int = 0
    deferred: int = 0  # temporary failure, retried later
    failed: int = 0  # permanent failure or too many attempts
    abandoned: int = 0  # found interrupted mid-send (see the module docstring)
    errors: list[str] = field(default_factory=list)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def first(attrs, name: str) -> str | None:
    attrs = attrs or {}
    values = attrs.get(name)  # as the mapping spells it, nearly always
    if values is None:
        values = {k.lower(): v for k, v in attrs.items()}.get(name.lower())
    return values[0] if values else None


def new_mail(change) -> str | None:
    """The address an update gives an account, if it adds or replaces ``mail``."""
    return next((m.values[0] for m in change.mods
                 if m.attr.lower() == "mail" and m.op in ("add", "replace") and m.values), None)


class Queue:
    """Activation notices queued while a run writes, a batch at a time, for every new
    account with an e-mail and every never-activated account whose e-mail appeared (or
    changed); ``add`` is called once per change the directory accepted.

    Queued as the writes go, not after them: the queueing overlaps slapd's work (a
    region's first sync queues 200 000), and a run that fails half-way has queued the
    notices of the accounts it did write (a later run never makes them again).
    """

    BATCH = 500

    def __init__(self, settings: Settings, state: State, snapshot: Snapshot,
                 now: dt.datetime | None = None) -> None:
        self.state, self.now, self.language = state, now or utcnow(), settings.mail.language
        self.accounts = {a.dn: a for a in snapshot.accounts}
        self.pending: dict[str, dict] = {}
        self.queued = 0

    def add(self, change: Change) -> None:
        if change.kind != "person":
            return
        if change.action == "create" and first(change.attrs, "mail"):
            self.want(change.dn, first(change.attrs, "uid") or "", change.key or "",
                      first(change.attrs, "mail"), first(change.attrs, "givenName"))
        elif change.action in ("update", "relink", "enable") and (address := new_mail(change)):
            account = self.accounts.get(change.dn)
            if account is not None and not account.first("provisionerActivatedAt"):
                self.want(change.dn, account.uid, change.key or account.key, address,
                          account.first("givenName"))

    def want(self, dn: str, login: str, key: str, recipient: str, first_name: str | None) -> None:
        self.pending[dn] = dict(kind=ACTIVATION, dn=dn, login=login, account_key=key,
                                recipient=recipient, first_name=first_name,
                                language=self.language)
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> int:
        """Queue what is pending; how many were queued in all."""
        if self.pending:
            self.queued += outbox.enqueue_many(self.state, list(self.pending.values()), self.now)
            self.pending.clear()
        return self.queued

    def missed(self) -> int:
        """After a run that died: every account with an e-mail that was never activated
        nor ever notified, so that a crash between writing an account and queueing its
        notice loses nothing. How many were queued in all."""
        missed = [a for a in self.accounts.values() if a.dn not in self.pending and a.first("mail")
                  and a.disabled_at is None and not a.first("provisionerActivatedAt")]
        already = outbox.notified(self.state, [a.dn for a in missed], ACTIVATION)
        for account in missed:
            if account.dn not in already:
                self.want(account.dn, account.uid, account.key, account.first("mail"),
                          account.first("givenName"))
        return self.flush()


def lifetime(settings: Settings, kind: str) -> dt.timedelta:
    if kind == ACTIVATION:
        return dt.timedelta(days=settings.web.activation_days)
    return dt.timedelta(minutes=settings.web.link_minutes)


def backoff(settings: Settings, attempts: int) -> dt.timedelta:
    seconds = settings.mail.retry_min * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.mail.retry_max))


def stale_after(settings: Settings) -> dt.timedelta:
    # Longer than any send can take: connect, TLS, auth and DATA each get a timeout.
    return dt.timedelta(seconds=max(600.0, 6 * settings.mail.smtp_timeout))


def send_outbox(settings: Settings, now: dt.datetime | None = None) -> SendReport:
    """Send every notice that is due; temporary failures are retried later with backoff."""
    now = now or utcnow()
    report = SendReport()
    with State(settings.state.url) as state, mail.Transport(settings) as transport:
        report.abandoned = outbox.abandon_stale(state, now - stale_after(settings))
        for notice_id in outbox.due(state, now, limit=10_000):
            notice = outbox.claim(state, notice_id, now)
            if notice is None:
                continue  # another sender took it
            if not send_one(settings, state, transport, notice, now, report):
                break  # the server is unreachable: the rest would fail the same way
    return report


def send_one(settings: Settings, state: State, transport: mail.Transport, notice: outbox.Notice,
             now: dt.datetime, report: SendReport) -> bool:
    life = lifetime(settings, notice.kind)
    token = tokens.issue(state, purpose=notice.kind, dn=notice.dn, login=notice.login,
                         account_key=notice.account_key, now=now, lifetime=life)
    domain = settings.mail.sender.rpartition("@")[2].strip("> ") or "localhost"
    message = messages.render(
        settings, kind=notice.kind, language=notice.language, recipient=notice.recipient,
        login=notice.login, first_name=notice.first_name, link=password_link(settings, token),
        expires=now + life, lifetime=life,
        message_id=f"<notice-{notice.id}-{secrets.token_hex(6)}@{domain}>")
    try:
        transport.send(message, f"{notice.id:06d}-{notice.kind}-{notice.login}")
    except mail.Permanent as exc:
        outbox.mark_failed(state, notice.id, str(exc))
        report.failed += 1
        report.errors.append(f"notice {notice.id} to {notice.login}: {exc}")
        return True
    except mail.Temporary as exc:
        if notice.attempts >= settings.mail.max_attempts:
            outbox.mark_failed(state, notice.id, f"{exc} (gave up after {notice.attempts} attempts)")
            report.failed += 1
        else:
            outbox.mark_retry(state, notice.id, str(exc), now + backoff(settings, notice.attempts))
            report.deferred += 1
        report.errors.append(f"notice {notice.id} to {notice.login}: {exc}")
        return False
    outbox.mark_sent(state, notice.id, now)
    report.sent += 1
    return True


def password_link(settings: Settings, token: str) -> str:
    return f"{settings.web.base_url}/password/{token}"


def outbox_summary(state: State) -> dict:
    """For ``provisioner status``: counts by status and the last permanent failures."""
    return {**outbox.counts(state), "last_failures": outbox.last_failures(state)}


def outbox_size(settings: Settings) -> int:
    """Notices waiting to be sent (the daemon's gauge)."""
    with State(settings.state.url) as state:
        counts = outbox.counts(state)
    return counts["queued"] + counts["sending"]


def summary(settings: Settings) -> dict:
    with State(settings.state.url) as state:
        return outbox_summary(state)


def retry(settings: Settings, notice_id: int, now: dt.datetime | None = None) -> bool:
    """Queue a failed notice again (an administrator's decision, e.g. after an interrupted send)."""
    with State(settings.state.url) as state:
        return outbox.requeue(state, notice_id, now or utcnow())
