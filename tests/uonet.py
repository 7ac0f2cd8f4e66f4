"""Small hand-written UONET sources for end-to-end tests (the demo generator makes big ones)."""

import datetime as dt

from provisioner.core import pesel
from provisioner.demo.data import Dataset, write_sqlite

JAN = pesel.make(dt.date(2015, 3, 4), 11)
OLA = pesel.make(dt.date(2016, 5, 6), 12, female=True)
EWA = pesel.make(dt.date(1985, 6, 7), 22, female=True)


def small() -> Dataset:
    """Two schools, three pupils (two siblings), their mother entered once per child."""
    d = Dataset()
    d.schools = [{"id": 1, "rspo": "1234567", "name": "SP 12 w Łodzi"},
                 {"id": 2, "rspo": "7654321", "name": "LO 3 w Łodzi"}]
    d.classes = [{"id": 1, "school_id": 1, "code": "1a"}, {"id": 2, "school_id": 1, "code": "2 B"},
                 {"id": 3, "school_id": 2, "code": "3 TI"}]
    d.pupils = [
        pupil(1, 1, JAN, "Jan", "Nowak", "jan.nowak@uczen.example.pl"),
        pupil(2, 2, OLA, "Ola", "Nowak", None),
        pupil(3, 3, pesel.make(dt.date(2009, 1, 2), 13), "Łukasz", "Żółć", "lukasz@Example.PL"),
    ]
    d.guardians = [guardian(1, EWA, "Ewa", "Nowak", "ewa.nowak@example.pl"),
                   guardian(2, EWA, "Ewa", "Nowak", None)]
    d.pupil_guardians = [{"pupil_id": 1, "guardian_id": 1, "relation": "matka"},
                         {"pupil_id": 2, "guardian_id": 2, "relation": "matka"}]
    return d


def pupil(id, class_id, p, first, last, email, left_on=None, second=None):
    return {"id": id, "class_id": class_id, "pesel": p, "first_name": first, "second_name": second,
            "last_name": last, "email": email, "left_on": left_on, "modified_at": None}


def guardian(id, p, first, last, email):
    return {"id": id, "pesel": p, "first_name": first, "last_name": last, "email": email,
            "modified_at": None}


def save(dataset: Dataset, path) -> str:
    write_sqlite(dataset, path)
    return f"sqlite:///{path}"
