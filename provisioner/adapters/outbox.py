"""The notice outbox in the state database: queue, claim, mark sent or failed.

A row goes ``queued`` → ``sending`` → ``sent`` (or back to ``queued`` with a later
``next_attempt_at``, or ``failed``). Claiming is a conditional UPDATE, so two
senders (the daemon and ``provisioner notices send``) never take the same row.
The rendered message is not stored: the link's token is made when the row is
claimed, so no usable link ever sits in the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    select,
    update,
)

from .state import State, metadata

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # activation, access
    Column("dn", Text, nullable=False),
    Column("login", String(64), nullable=False, index=True),
    Column("account_key", String(64), nullable=False),  # the PESEL HMAC of the account
    Column("recipient", Text, nullable=False),
    Column("first_name", Text),  # for the greeting
    Column("language", String(2), nullable=False),
    Column("status", String(8), nullable=False, index=True),  # queued, sending, sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Column("last_error", Text),
)
# A run looks up by DN what is already queued for the accounts it made: without this
# index, each lookup of 500 scanned every queued notice (26 ms at 50 000 queued).
by_dn = Index("ix_outbox_dn", outbox.c.dn)


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    kind: str
    dn: str
    login: str
    account_key: str
    recipient: str
    first_name: str | None
    language: str
    attempts: int


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every time here is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def enqueue(state: State, *, kind: str, dn: str, login: str, account_key: str, recipient: str,
            first_name: str | None, language: str, now: dt.datetime) -> bool:
    """Queue a notice unless the same one is already waiting; True if queued."""
    return enqueue_many(state, [dict(kind=kind, dn=dn, login=login, account_key=account_key,
                                     recipient=recipient, first_name=first_name,
                                     language=language)], now) == 1


def enqueue_many(state: State, notices: list[dict], now: dt.datetime) -> int:
    """Queue many notices in one transaction (a region's first sync makes 100 000+),
    skipping any whose same notice (account, kind, address) is already waiting."""
    if not notices:
        return 0
    with state.engine.begin() as conn:
        waiting = set()
        for chunk in chunks(sorted({n["dn"] for n in notices})):
            # By DN alone, the status checked here: given both, SQLite picks the status
            # index and reads every queued notice (200 000 after a region's first sync).
            found = conn.execute(select(outbox.c.dn, outbox.c.kind, outbox.c.recipient,
                                        outbox.c.status).where(outbox.c.dn.in_(chunk)))
            waiting.update((dn, kind, to) for dn, kind, to, status in found
                           if status in ("queued", "sending"))
        rows = [dict(n, status="queued", attempts=0, created_at=now, next_attempt_at=now)
                for n in notices if (n["dn"], n["kind"], n["recipient"]) not in waiting]
        if rows:
            conn.execute(insert(outbox), rows)
    return len(rows)


def notified(state: State, dns: list[str], kind: str) -> set[str]:
    """Those of ``dns`` that ever had a notice of ``kind`` queued, whatever became of it."""
    found: set[str] = set()
    with state.engine.connect() as conn:
        for chunk in chunks(sorted(set(dns))):
            found.update(conn.execute(select(outbox.c.dn).where(and_(
                outbox.c.dn.in_(chunk), outbox.c.kind == kind))).scalars())
    return found


def chunks(values: list[str], size: int = 500) -> list[list[str]]:
    # Bounded IN lists: SQLite and PostgreSQL both cap the parameters of one statement.
    return [values[i:i + size] for i in range(0, len(values), size)]


def due(state: State, now: dt.datetime, limit: int = 100) -> list[int]:
    with state.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.id).where(and_(
            outbox.c.status == "queued", outbox.c.next_attempt_at <= now))
            .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit))
        return [r.id for r in rows]


def claim(state: State, notice_id: int, now: dt.datetime) -> Notice | None:
    """Take one queued row for sending (committed before anything is sent); None if taken."""
    with state.engine.begin() as conn:
        taken = conn.execute(update(outbox).where(and_(
            outbox.c.id == notice_id, outbox.c.status == "queued")).values(
            status="sending", claimed_at=now, attempts=outbox.c.attempts + 1)).rowcount
        if taken != 1:
            return None
        row = conn.execute(select(outbox).where(outbox.c.id == notice_id)).mappings().one()
    return Notice(row["id"], row["kind"], row["dn"], row["login"], row["account_key"],
                  row["recipient"], row["first_name"], row["language"], row["attempts"])


def mark_sent(state: State, notice_id: int, now: dt.datetime) -> None:
    with state.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == notice_id).values(
            status="sent", sent_at=now, last_error=None))


def mark_retry(state: State, notice_id: int, error: str, at: dt.datetime) -> None:
    with state.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == notice_id).values(
            status="queued", next_attempt_at=at, last_error=error))


def mark_failed(state: State, notice_id: int, error: str) -> None:
    with state.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == notice_id).values(
            status="failed", last_error=error))


def abandon_stale(state: State, before: dt.datetime) -> int:
    """Rows left ``sending`` by a sender that died: failed, never resent (see notices.py)."""
    with state.engine.begin() as conn:
        return conn.execute(update(outbox).where(and_(
            outbox.c.status == "sending", outbox.c.claimed_at < before)).values(
            status="failed", last_error="interrupted while sending (the sender stopped);"
            " it may or may not have been delivered, so it is not sent again")).rowcount


def requeue(state: State, notice_id: int, now: dt.datetime) -> bool:
    """An administrator's retry of a failed notice."""
    with state.engine.begin() as conn:
        return conn.execute(update(outbox).where(and_(
            outbox.c.id == notice_id, outbox.c.status == "failed")).values(
            status="queued", attempts=0, next_attempt_at=now)).rowcount == 1


def counts(state: State) -> dict[str, int]:
    with state.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
        found = {status: n for status, n in rows}
    return {s: found.get(s, 0) for s in ("queued", "sending", "sent", "failed")}


def last_failures(state: State, limit: int = 10) -> list[dict]:
    with state.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.id, outbox.c.kind, outbox.c.login, outbox.c.attempts,
                                   outbox.c.created_at, outbox.c.last_error)
                            .where(outbox.c.status == "failed").order_by(outbox.c.id.desc())
                            .limit(limit)).mappings()
        return [dict(r) for r in rows]


def rows(state: State, limit: int = 50) -> list[dict]:
    with state.engine.connect() as conn:
        q = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        return [dict(r) for r in conn.execute(q).mappings()]
