"""The state database: run journal, rejected records (and, later, outbox and tokens).

SQLAlchemy Core on any URL (SQLite file by default). The schema is versioned:
``MIGRATIONS`` is an append-only list, and ``State.migrate`` applies the ones a
database has not seen, each in its own transaction; nothing is ever recreated.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StateError

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(16), nullable=False, default="running"),  # ok, partial, withheld, failed
    Column("forced", Boolean, nullable=False, default=False),
    Column("counts", Text),  # JSON
    Column("error", Text),
)

changes = Table(
    "changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(16), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("dn", Text, nullable=False),
    Column("login", String(64), index=True),
    Column("old", Text),  # JSON: attribute -> values before
    Column("new", Text),  # JSON: attribute -> values after (or the operation)
    Column("error", Text),  # the directory's refusal, if any
)

rejections = Table(
    "rejections", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
    Column("source_table", String(16), nullable=False),
    Column("record_id", Integer, nullable=False),
    Column("code", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("field", String(32)),
    Column("fixer", String(16)),
)


def v1_journal(conn: Connection) -> None:
    metadata.create_all(conn, tables=[runs, changes, rejections])


def v2_notices(conn: Connection) -> None:
    """The notice outbox, link tokens and rate-limit hits (tables defined in their modules)."""
    from . import outbox, tokens  # they import this module's metadata

    metadata.create_all(conn, tables=[outbox.outbox, tokens.tokens, tokens.rate_hits])


def v3_outbox_by_dn(conn: Connection) -> None:
    """An index on the outbox's DNs (a database made at v2 since has it already)."""
    from .outbox import by_dn

    by_dn.create(conn, checkfirst=True)


# Append only. Each entry takes the database from version i to i + 1.
MIGRATIONS: list[Callable[[Connection], None]] = [v1_journal, v2_notices, v3_outbox_by_dn]


class State:
    """A connection to the state database, migrated to the current schema on open."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url)
            self.migrate()
        except (SQLAlchemyError, OSError) as exc:
            raise StateError(f"state database {safe(url)}: {first_line(exc)}") from exc

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def version(self, conn: Connection) -> int:
        if not inspect(conn).has_table("schema_version"):
            schema_version.create(conn)
            conn.execute(insert(schema_version).values(version=0))
        return conn.execute(select(schema_version.c.version)).scalar_one()

    def migrate(self) -> int:
        """Apply pending migrations; returns the resulting version."""
        with self.engine.begin() as conn:
            current = self.version(conn)
        for number in range(current, len(MIGRATIONS)):
            with self.engine.begin() as conn:
                MIGRATIONS[number](conn)
                conn.execute(update(schema_version).values(version=number + 1))
        return len(MIGRATIONS)

    # -- journal ---------------------------------------------------------------------

    def start_run(self, now: dt.datetime, forced: bool = False) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(runs).values(
                started_at=now, outcome="running", forced=forced)).inserted_primary_key[0]

    def finish_run(self, run_id: int, now: dt.datetime, outcome: str, counts: dict | None = None,
                   error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                finished_at=now, outcome=outcome, error=error,
                counts=json.dumps(counts or {}, ensure_ascii=False)))

    def record_changes(self, run_id: int, rows: Iterable[dict]) -> None:
        rows = [dict(r, run_id=run_id) for r in rows]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(changes), rows)

    def record_rejections(self, run_id: int, rows: Iterable[dict]) -> None:
        rows = [dict(r, run_id=run_id) for r in rows]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(rejections), rows)

    def close_crashed(self, run_id: int, now: dt.datetime) -> int:
        """Mark runs left ``running`` by a process that died as ``crashed``; how many.

        Only one sync holds the lock, so any other ``running`` run is a dead one."""
        with self.engine.begin() as conn:
            return conn.execute(update(runs).where(runs.c.outcome == "running", runs.c.id != run_id)
                                .values(outcome="crashed", finished_at=now)).rowcount

    def last_runs(self, limit: int = 10) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]

    def history(self, login: str) -> list[dict]:
        with self.engine.connect() as conn:
            q = select(changes).where(changes.c.login == login).order_by(changes.c.id)
            return [dict(r) for r in conn.execute(q).mappings()]

    def rejection_count(self, run_id: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(rejections)
                                .where(rejections.c.run_id == run_id)).scalar_one()


def first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL that does not parse is shown as is
        return url
