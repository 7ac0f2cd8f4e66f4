"""Read the UONET source through SQLAlchemy: five set-based queries, no per-person I/O."""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ..core.assemble import COLUMNS, SourceData
from ..errors import SourceError
from ..settings import Settings

TABLES = tuple(COLUMNS)


def read(settings: Settings) -> SourceData:
    """All five tables, or one ``SourceError`` naming the table and the problem."""
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
    tables, current = {}, None
    try:
        with engine.connect() as conn:
            for current in TABLES:
                result = conn.execute(text(settings.query(current)))
                returned_order = list(result.keys())
                returned = set(returned_order)
                missing = [c for c in COLUMNS[current] if c not in returned]
                if missing:
                    raise SourceError(f"source table {current!r}: the query returns no column"
                                      f" {', '.join(missing)} (see source.queries)")
                # Plain tuples of the reference columns in a fixed order (whatever order
                # the query has): the smallest form, and the fastest for assemble.
                pick = itemgetter(*(returned_order.index(c) for c in COLUMNS[current]))
                tables[current] = list(map(pick, result))  # row by row: no second copy
    except SQLAlchemyError as exc:
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        where = f"cannot read source table {current!r}" if current else f"cannot connect to {safe}"
        if current == TABLES[0] and "connect" in detail.lower():
            where = f"cannot connect to {safe}"
        raise SourceError(f"{where}: {detail}") from exc
    finally:
        engine.dispose()
    return SourceData(**tables)
