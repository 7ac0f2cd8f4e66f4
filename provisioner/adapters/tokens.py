"""Link tokens and rate-limit hits in the state database.

Only a token's SHA-256 is stored; the token itself exists in the e-mail alone.
A token is single use, tied to one account (DN and PESEL HMAC), and a new one
for an account revokes the older ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)

from .outbox import aware
from .state import State, metadata

tokens = Table(
    "tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("purpose", String(16), nullable=False),  # activation, access
    Column("dn", Text, nullable=False),
    Column("login", String(64), nullable=False),
    Column("account_key", String(64), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

rate_hits = Table(
    "rate_hits", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bucket", String(80), nullable=False, index=True),  # "client:<hmac>" or "id:<hmac>"
    Column("at", DateTime(timezone=True), nullable=False, index=True),
)


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token allows: setting the password of this one account."""

    id: int
    dn: str
    login: str
    account_key: str
    purpose: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(state: State, *, purpose: str, dn: str, login: str, account_key: str,
          now: dt.datetime, lifetime: dt.timedelta) -> str:
    """A fresh token (256 random bits) for the account; its older tokens stop working."""
    token = secrets.token_urlsafe(32)
    with state.engine.begin() as conn:
        conn.execute(update(tokens).where(and_(
            tokens.c.account_key == account_key, tokens.c.used_at.is_(None),
            tokens.c.revoked_at.is_(None))).values(revoked_at=now))
        conn.execute(insert(tokens).values(
            token_hash=digest(token), purpose=purpose, dn=dn, login=login,
            account_key=account_key, created_at=now, expires_at=now + lifetime))
    return token


def check(state: State, token: str, now: dt.datetime) -> Grant | None:
    """The grant of a token that is known, unused, not revoked and not expired."""
    with state.engine.connect() as conn:
        row = conn.execute(select(tokens).where(tokens.c.token_hash == digest(token))).mappings().first()
    if (row is None or row["used_at"] is not None or row["revoked_at"] is not None
            or aware(row["expires_at"]) <= now):
        return None
    return Grant(row["id"], row["dn"], row["login"], row["account_key"], row["purpose"])


def consume(state: State, grant: Grant, now: dt.datetime) -> bool:
    """Mark the token used; False if another request used it first."""
    with state.engine.begin() as conn:
        return conn.execute(update(tokens).where(and_(
            tokens.c.id == grant.id, tokens.c.used_at.is_(None),
            tokens.c.revoked_at.is_(None))).values(used_at=now)).rowcount == 1


def hit(state: State, buckets: list[str], now: dt.datetime, window: dt.timedelta) -> dict[str, int]:
    """Record one hit in each bucket; returns each bucket's hits in the window, this one included."""
    since = now - window
    with state.engine.begin() as conn:
        conn.execute(delete(rate_hits).where(rate_hits.c.at < since))  # keeps the table small
        conn.execute(insert(rate_hits), [{"bucket": b, "at": now} for b in buckets])
        return {b: conn.execute(select(func.count()).select_from(rate_hits).where(and_(
            rate_hits.c.bucket == b, rate_hits.c.at >= since))).scalar_one() for b in buckets}


def release(state: State, grant: Grant) -> None:
    """Undo ``consume`` when the password could not be set after all."""
    with state.engine.begin() as conn:
        conn.execute(update(tokens).where(tokens.c.id == grant.id).values(used_at=None))
