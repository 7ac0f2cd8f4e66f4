"""Raw source tables → one ``SourceRow`` per pupil and guardian, with their classes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .model import Place, SourceRow

# A row with the reference columns as attributes (SQLAlchemy's Row, or any named tuple).
Row = Any


@dataclass(frozen=True, slots=True)
class SourceData:
    """The five reference tables as read, one row (columns as attributes) per record."""

    schools: Sequence[Row]
    classes: Sequence[Row]
    pupils: Sequence[Row]
    guardians: Sequence[Row]
    pupil_guardians: Sequence[Row]

    @property
    def people_count(self) -> int:
        return len(self.pupils) + len(self.guardians)


def as_date(value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def as_datetime(value: object) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=None)


def assemble(data: SourceData, today: dt.date) -> list[SourceRow]:
    """Pupils with their class, guardians with the classes of their current pupils.

    A pupil whose ``left_on`` has passed still gets a row (validation drops it);
    a guardian's classes come only from pupils who have not left.
    """
    schools = {s.id: s for s in data.schools}
    places: dict[object, Place] = {}
    for c in data.classes:
        school = schools.get(c.school_id)
        if school is not None:
            places[c.id] = Place(str(school.rspo), str(school.name), str(c.code))
    rows: list[SourceRow] = []
    current: dict[object, Place] = {}
    for p in data.pupils:
        place = places.get(p.class_id)
        left_on = as_date(p.left_on)
        if place is not None and (left_on is None or left_on > today):
            current[p.id] = place
        rows.append(SourceRow(
            table="pupils", id=int(p.id), pesel=p.pesel, first_name=p.first_name,
            last_name=p.last_name, second_name=p.second_name, email=p.email,
            places=(place,) if place else (), left_on=left_on, modified_at=p.modified_at,
        ))
    guardian_places: dict[object, set[Place]] = defaultdict(set)
    for link in data.pupil_guardians:
        place = current.get(link.pupil_id)
        if place is not None:
            guardian_places[link.guardian_id].add(place)
    for g in data.guardians:
        rows.append(SourceRow(
            table="guardians", id=int(g.id), pesel=g.pesel, first_name=g.first_name,
            last_name=g.last_name, email=g.email,
            places=tuple(sorted(guardian_places.get(g.id, ()), key=lambda p: (p.rspo, p.class_code))),
            modified_at=g.modified_at,
        ))
    return rows
