"""Read the UONET source through SQLAlchemy: five set-based queries, no per-person I/O."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ..core.assemble import SourceData
from ..errors import SourceError
from ..settings import DEFAULT_QUERIES, Settings

TABLES = tuple(DEFAULT_QUERIES)


def read(settings: Settings) -> SourceData:
    """All five tables, or one ``SourceError`` naming the table and the problem."""
    try:
        engine = create_engine(settings.source.url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise SourceError(f"source.url is not a usable database URL: {exc}") from exc
    tables = {}
    try:
        with engine.connect() as conn:
            for table in TABLES:
                current = table
                result = conn.execute(text(settings.query(table)))
                tables[table] = [dict(r) for r in result.mappings()]
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise SourceError(f"cannot read source table {current!r}: {detail}") from exc
    finally:
        engine.dispose()
    return SourceData(**tables)
