"""Read the UONET source through SQLAlchemy: five set-based queries, no per-person I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ..core.assemble import COLUMNS, Row, SourceData, assemble
from ..core.model import SourceRow
from ..errors import SourceError
from ..settings import Settings

TABLES = tuple(COLUMNS)
# Rows fetched at a time. The source is streamed, not loaded: a region's raw rows
# would be ~150 MB held beside the SourceRows made from them (bench/README.md).
BATCH = 2000


def read(settings: Settings, today: dt.date) -> list[SourceRow]:
    """Every pupil and guardian row, assembled (``core.assemble``) as the tables stream
    in, or one ``SourceError`` naming the table and the problem."""
    url = settings.source.url
    try:
        parsed = make_url(url)
        engine = create_engine(parsed)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise SourceError(f"source.url is not a usable database URL: {exc}") from exc
    safe = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).is_file():
        # SQLite would quietly create an empty file and report missing tables.
        raise SourceError(f"source database {parsed.database} does not exist")
    current: list[str] = []  # the table being read, for the error message
    try:
        with engine.connect() as conn:
            # A server-side cursor where the driver has one (PostgreSQL, MySQL); SQLite's
            # cursor steps through the rows anyway.
            conn = conn.execution_options(yield_per=BATCH)
            # Each table is queried when assemble reaches it, one after the other.
            return assemble(SourceData(**{name: table(conn, name, settings, current)
                                          for name in TABLES}), today)
    except SQLAlchemyError as exc:
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        where = f"cannot read source table {current[-1]!r}" if current \
            else f"cannot connect to {safe}"
        if current[-1:] == [TABLES[0]] and "connect" in detail.lower():
            where = f"cannot connect to {safe}"
        raise SourceError(f"{where}: {detail}") from exc
    finally:
        engine.dispose()


def table(conn: Connection, name: str, settings: Settings, current: list[str]) -> Iterator[Row]:
    """One table's rows as plain tuples of its ``COLUMNS``, whatever the query's order:
    the smallest form, and the fastest for assemble."""
    current.append(name)
    result = conn.execute(text(settings.query(name)))
    returned = list(result.keys())
    missing = [c for c in COLUMNS[name] if c not in returned]
    if missing:
        raise SourceError(f"source table {name!r}: the query returns no column"
                          f" {', '.join(missing)} (see source.queries)")
    pick = itemgetter(*(returned.index(c) for c in COLUMNS[name]))
    for batch in result.partitions():
        yield from map(pick, batch)
