"""Demo and test UONET source databases: realistic Polish school data with known defects.

:func:`generate` is pure and deterministic for a seed, so tests and the benchmark can rely
on exact contents. The :class:`Dataset` also says which rows are deliberately bad or
unusual, so a test can check that the provisioner reports exactly those.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import random
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from provisioner.core import pesel
from provisioner.core.names import slug

# Plain types and no comments, so the text also runs on PostgreSQL when split on ";".
SCHEMA_SQL = """\
CREATE TABLE schools (id INTEGER PRIMARY KEY, rspo TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
CREATE TABLE classes (id INTEGER PRIMARY KEY,
    school_id INTEGER NOT NULL REFERENCES schools(id), code TEXT NOT NULL);
CREATE TABLE pupils (id INTEGER PRIMARY KEY, class_id INTEGER NOT NULL REFERENCES classes(id),
    pesel TEXT, first_name TEXT NOT NULL, second_name TEXT, last_name TEXT NOT NULL,
    email TEXT, left_on DATE, modified_at TIMESTAMP);
CREATE TABLE guardians (id INTEGER PRIMARY KEY, pesel TEXT, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, email TEXT, modified_at TIMESTAMP);
CREATE TABLE pupil_guardians (pupil_id INTEGER NOT NULL REFERENCES pupils(id),
    guardian_id INTEGER NOT NULL REFERENCES guardians(id), relation TEXT,
    PRIMARY KEY (pupil_id, guardian_id));
"""

# Insertion order respects the foreign keys; dropping goes the other way.
COLUMNS: dict[str, tuple[str, ...]] = {
    "schools": ("id", "rspo", "name"),
    "classes": ("id", "school_id", "code"),
    "pupils": ("id", "class_id", "pesel", "first_name", "second_name", "last_name", "email",
               "left_on", "modified_at"),
    "guardians": ("id", "pesel", "first_name", "last_name", "email", "modified_at"),
    "pupil_guardians": ("pupil_id", "guardian_id", "relation"),
}

PROBLEMS = ("pesel_missing", "pesel_invalid_checksum", "pesel_invalid_date", "pesel_format",
            "pesel_conflict", "email_missing", "email_invalid")
PESEL_PROBLEMS = frozenset(p for p in PROBLEMS if p.startswith("pesel_"))
MIN_PUPILS = 30  # room for the special rows and one of each defect per table

MALE = ("Łukasz", "Grzegorz", "Józef", "Paweł", "Michał", "Jakub", "Mikołaj", "Wojciech",
        "Krzysztof", "Piotr", "Tomasz", "Jędrzej", "Bartłomiej", "Szymon", "Antoni",
        "Stanisław", "Kacper", "Jan", "Zbigniew", "Adam")
FEMALE = ("Zofia", "Żaneta", "Małgorzata", "Agnieszka", "Katarzyna", "Joanna", "Anna",
          "Łucja", "Gabriela", "Hanna", "Maja", "Julia", "Zuzanna", "Alicja", "Jadwiga",
          "Bożena", "Grażyna", "Ewa", "Oliwia", "Elżbieta")
# (male form, female form): -ski/-cki surnames change with sex, most others do not.
SURNAMES = (
    ("Kowalski", "Kowalska"), ("Nowak", "Nowak"), ("Wójcik", "Wójcik"),
    ("Brzęczyszczykiewicz", "Brzęczyszczykiewicz"), ("Śliwiński", "Śliwińska"),
    ("Ćwik", "Ćwik"), ("Żółkiewski", "Żółkiewska"), ("Dąbrowski", "Dąbrowska"),
    ("Łęcki", "Łęcka"), ("Kaczmarek", "Kaczmarek"), ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"), ("Woźniak", "Woźniak"), ("Kozłowski", "Kozłowska"),
    ("Mazur", "Mazur"), ("Krawczyk", "Krawczyk"), ("Piotrowski", "Piotrowska"),
    ("Król", "Król"), ("Wieczorek", "Wieczorek"), ("Jabłoński", "Jabłońska"),
    ("Wróbel", "Wróbel"), ("Stępień", "Stępień"), ("Górski", "Górska"), ("Bąk", "Bąk"),
    ("Kaźmierczak", "Kaźmierczak"), ("Sokołowski", "Sokołowska"), ("Cieślak", "Cieślak"),
    ("Głowacki", "Głowacka"), ("Kołodziej", "Kołodziej"), ("Ziółkowski", "Ziółkowska"),
    ("Żak", "Żak"), ("Ślusarczyk", "Ślusarczyk"), ("Czarnecki", "Czarnecka"),
    ("Pawłowski", "Pawłowska"), ("Michalak", "Michalak"), ("Szewczyk", "Szewczyk"),
)
PATRONS = ("Marii Skłodowskiej-Curie", "Jana Pawła II", "Adama Mickiewicza",
           "Mikołaja Kopernika", "Henryka Sienkiewicza", "Juliusza Słowackiego",
           "Tadeusza Kościuszki", "Janusza Korczaka", "Stefana Żeromskiego",
           "Królowej Jadwigi", "Marii Konopnickiej", "Komisji Edukacji Narodowej")
CITIES = ("w Łodzi", "w Krakowie", "w Gdańsku", "w Poznaniu", "we Wrocławiu", "w Warszawie",
          "w Białymstoku", "w Częstochowie", "w Zielonej Górze", "w Rzeszowie", "w Szczecinie",
          "w Bydgoszczy", "w Łomży", "w Świdnicy")
SCHOOL_NAMES = {"SP": "Szkoła Podstawowa", "LO": "Liceum Ogólnokształcące", "T": "Technikum"}
KINDS = ("SP", "LO", "T", "SP", "SP", "LO", "SP", "T", "SP", "SP")
# kind -> (grades, class sections, birth year of grade 0); a grade-g pupil is born base - g.
CLASS_PLAN = {
    "SP": (8, ("a", "b", "c", "d", "e", "f"), 2019),
    "LO": (4, (" LO", "b LO", "c LO", "d LO"), 2012),
    "T": (5, (" TI", " TE", " TM", " TL"), 2013),
}
PUPIL_DOMAIN = "uczen.example.pl"
GUARDIAN_DOMAINS = ("example.com", "poczta.example.pl", "example.net")
CHANGES_FROM = dt.datetime(2024, 9, 1, 7, 0)
LEFT_ON = dt.date(2024, 6, 28)

# Names come from short lists, so caching the transliteration keeps 100 000 pupils fast.
_slug = functools.lru_cache(maxsize=4096)(slug)


@dataclass(frozen=True)
class BadRecord:
    """A row with a deliberate defect; ``problem`` is one of :data:`PROBLEMS`."""

    table: str
    id: int
    problem: str


@dataclass
class Dataset:
    """Rows of the five source tables (dicts keyed by column) and what is special in them."""

    schools: list[dict[str, Any]] = field(default_factory=list)
    classes: list[dict[str, Any]] = field(default_factory=list)
    pupils: list[dict[str, Any]] = field(default_factory=list)
    guardians: list[dict[str, Any]] = field(default_factory=list)
    pupil_guardians: list[dict[str, Any]] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    hostile: list[tuple[str, int]] = field(default_factory=list)  # (table, id)
    dual_role: list[tuple[int, int]] = field(default_factory=list)  # (pupil id, guardian id)
    leavers: list[int] = field(default_factory=list)  # pupil ids


def generate(pupils: int = 60, seed: int = 1, bad_records: bool = True) -> Dataset:
    """Build a demo dataset with exactly ``pupils`` pupils, the same for the same arguments.

    With ``bad_records`` some rows get defects (all listed in ``Dataset.bad``, including
    every missing e-mail); without it every PESEL and e-mail is valid.
    """
    if pupils < MIN_PUPILS:
        raise ValueError(f"need at least {MIN_PUPILS} pupils")
    return _Builder(random.Random(seed), bad_records).build(pupils)


def write_sqlite(dataset: Dataset, path: str | os.PathLike[str]) -> None:
    """Create (or replace) a SQLite file with :data:`SCHEMA_SQL` and the dataset's rows."""
    path = Path(path)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA_SQL)
        with con:  # one transaction: 100 000 pupils load in seconds, not minutes
            for table, cols in COLUMNS.items():
                marks = ", ".join("?" * len(cols))
                sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})"
                con.executemany(sql, _values(dataset, table, as_text=True))
    finally:
        con.close()


def write(dataset: Dataset, url: str) -> None:
    """Drop and recreate the five tables at a SQLAlchemy ``url`` and load the dataset."""
    engine = sa.create_engine(url)
    try:
        # SQLite has no date type, so it gets the same ISO text as write_sqlite.
        as_text = engine.dialect.name == "sqlite"
        with engine.begin() as conn:
            for table in reversed(COLUMNS):
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
            for statement in SCHEMA_SQL.split(";"):
                if statement.strip():
                    conn.execute(sa.text(statement))
            for table, cols in COLUMNS.items():
                rows = [dict(zip(cols, v, strict=True)) for v in _values(dataset, table, as_text)]
                if rows:
                    conn.execute(sa.table(table, *map(sa.column, cols)).insert(), rows)
    finally:
        engine.dispose()


def create_demo_database(path: str | os.PathLike[str], pupils: int = 60, seed: int = 1) -> Dataset:
    """Generate a dataset, write it to a SQLite file at ``path`` and return it."""
    dataset = generate(pupils, seed)
    write_sqlite(dataset, path)
    return dataset


def _values(dataset: Dataset, table: str, as_text: bool) -> list[tuple[Any, ...]]:
    cols = COLUMNS[table]
    # Only the date columns need converting; touching the others costs seconds at 100 000.
    dates = [i for i, c in enumerate(cols) if c in ("left_on", "modified_at")] if as_text else []
    out = []
    for row in getattr(dataset, table):
        values = [row[c] for c in cols]
        for i in dates:
            values[i] = _iso(values[i])
        out.append(tuple(values))
    return out


def _iso(value: Any) -> Any:
    """ISO text for dates and timestamps, which is how SQLite tools expect them."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _names(row: dict[str, Any]) -> tuple[str, str]:
    return row["first_name"].strip().casefold(), row["last_name"].strip().casefold()


class _Builder:
    """Mutable state of one generate() call: ids, PESEL serials and e-mails in use."""

    def __init__(self, rng: random.Random, bad_records: bool) -> None:
        self.rng = rng
        self.bad_records = bad_records
        self.ds = Dataset()
        # Plain dicts, not Counters: Counter.__missing__ is slow at 100 000 pupils.
        self.serials: dict[tuple[dt.date, bool], int] = {}
        self.emails: dict[str, int] = {}
        self.regular_classes: list[tuple[int, int]] = []  # (class id, birth year)

    def build(self, pupils: int) -> Dataset:
        self.schools(max(3, round(pupils / 500)), pupils)
        protected = self.specials()
        for _ in range(8):  # enough clean one-child families to damage for inject_bad()
            self.family(1, clean=True)
        while len(self.ds.pupils) < pupils:
            size = self.rng.choice((1, 1, 1, 1, 1, 1, 2, 2, 2, 3))
            self.family(min(size, pupils - len(self.ds.pupils)))
        leaver = self.rng.choice([p for p in self.ds.pupils if p["id"] not in protected])
        leaver["left_on"] = LEFT_ON
        self.ds.leavers.append(leaver["id"])
        if self.bad_records:
            self.inject_bad(protected | {leaver["id"]})
        return self.ds

    # --- schools and classes

    def schools(self, count: int, pupils: int) -> None:
        numbers: Counter[tuple[str, str]] = Counter()
        rspos: set[str] = set()
        for i in range(count):
            kind, city = KINDS[i % len(KINDS)], self.rng.choice(CITIES)
            numbers[kind, city] += 1
            rspo = str(self.rng.randrange(10**6, 10**8))  # 7 or 8 digits, as in RSPO
            while rspo in rspos:
                rspo = str(self.rng.randrange(10**6, 10**8))
            rspos.add(rspo)
            name = (f"{SCHOOL_NAMES[kind]} nr {numbers[kind, city]} "
                    f"im. {self.rng.choice(PATRONS)} {city}")
            self.ds.schools.append({"id": i + 1, "rspo": rspo, "name": name})
            grades, sections, base = CLASS_PLAN[kind]
            wanted = min(grades * len(sections), max(4, round(pupils / count / 22)))
            for k in range(wanted):
                grade, section = k % grades + 1, sections[k // grades]
                if i % 4 == 3:
                    section = section.swapcase()  # some schools write "3B" or "4 lo"
                class_id = self.add_class(i + 1, f"{grade}{section}")
                self.regular_classes.append((class_id, max(2008, base - grade)))

    def add_class(self, school_id: int, code: str) -> int:
        class_id = len(self.ds.classes) + 1
        self.ds.classes.append({"id": class_id, "school_id": school_id, "code": code})
        return class_id

    # --- people

    def new_pesel(self, born: dt.date, female: bool) -> str:
        # pesel.make() has 1000 serials per date and sex; spill over to the next day.
        count = self.serials.get((born, female), 0)
        while count >= 1000:
            born += dt.timedelta(days=1)
            count = self.serials.get((born, female), 0)
        self.serials[born, female] = count + 1
        # 37 is coprime to 1000, so serials stay unique but do not look sequential.
        return pesel.make(born, (count * 37 + born.toordinal()) % 1000, female)

    def email(self, first: str, last: str, domain: str, sep: str = ".") -> str:
        local = f"{_slug(first).replace('.', '')}{sep}{_slug(last).replace('.', '')}"
        n = self.emails.get(f"{local}@{domain}", 0) + 1
        self.emails[f"{local}@{domain}"] = n
        return f"{local}{n if n > 1 else ''}@{domain}"

    def pick(self, options: tuple[Any, ...] | list[Any]) -> Any:
        # random.choice() is several times slower, which shows at 100 000 pupils.
        return options[int(self.rng.random() * len(options))]

    def birthday(self, year: int) -> dt.date:
        return dt.date(year, 1, 1) + dt.timedelta(days=int(self.rng.random() * 365))

    def stamp(self) -> dt.datetime:
        return CHANGES_FROM + dt.timedelta(seconds=int(self.rng.random() * 300 * 86400))

    def missing(self, rate: float) -> bool:
        return self.bad_records and self.rng.random() < rate

    def pupil(self, class_id: int, born: dt.date, female: bool, first: str, last: str,
              second: str | None = None, clean: bool = False) -> dict[str, Any]:
        lacks = not clean and self.missing(0.07)
        email = None if lacks else self.email(first, last, PUPIL_DOMAIN)
        row = {"id": len(self.ds.pupils) + 1, "class_id": class_id,
               "pesel": self.new_pesel(born, female), "first_name": first,
               "second_name": second, "last_name": last, "email": email, "left_on": None,
               "modified_at": self.stamp()}
        self.ds.pupils.append(row)
        return row

    def guardian(self, pupil_id: int, person: dict[str, Any], relation: str) -> int:
        row = {"id": len(self.ds.guardians) + 1, **person, "modified_at": self.stamp()}
        self.ds.guardians.append(row)
        self.ds.pupil_guardians.append(
            {"pupil_id": pupil_id, "guardian_id": row["id"], "relation": relation})
        return row["id"]

    def person(self, born: dt.date, female: bool, first: str, last: str,
               clean: bool = False) -> dict[str, Any]:
        domain = self.pick(GUARDIAN_DOMAINS)
        email = None if not clean and self.missing(0.12) else self.email(first, last, domain)
        return {"pesel": self.new_pesel(born, female), "first_name": first,
                "last_name": last, "email": email}

    def family(self, children: int, clean: bool = False) -> None:
        rng = self.rng
        male_name, female_name = self.pick(SURNAMES)
        kids, oldest = [], 2100
        for _ in range(children):
            class_id, year = self.pick(self.regular_classes)
            oldest = min(oldest, year)
            female = rng.random() < 0.5
            names = FEMALE if female else MALE
            second = self.pick(names) if rng.random() < 0.3 else None
            last = female_name if female else male_name
            kids.append(self.pupil(class_id, self.birthday(year), female, self.pick(names),
                                   last, second, clean))
        # 2, 1 or 0 guardians with weights 6:3:1 give 1.5 guardians per pupil on average.
        r = rng.random()
        if r < 0.6 or clean:
            roles: tuple[str, ...] = ("matka", "ojciec")
        elif r < 0.9:
            roles = (self.pick(("matka",) * 11 + ("ojciec",) * 6 + ("opiekun prawny",) * 3),)
        else:
            roles = ()
        parents = []
        for role in roles:
            if role == "opiekun prawny":  # often a grandparent or another relative
                female, year = rng.random() < 0.6, rng.randint(1960, 1975)
                last = self.pick(SURNAMES)[female]
            else:
                female = role == "matka"
                year = min(1995, max(1960, oldest - rng.randint(22, 38)))
                # Mothers sometimes keep their own surname.
                keeps_own = female and rng.random() < 0.2
                last = self.pick(SURNAMES)[1] if keeps_own else (
                    female_name if female else male_name)
            first = self.pick(FEMALE if female else MALE)
            person = self.person(self.birthday(year), female, first, last, clean)
            parents.append((person, role))
        for i, kid in enumerate(kids):
            for person, role in parents:
                # As in UONET a parent is entered once per child; later entries drift a bit.
                self.guardian(kid["id"], self.variant(person) if i else person, role)

    def variant(self, person: dict[str, Any]) -> dict[str, Any]:
        person = dict(person)
        r = self.rng.random()
        if r < 0.1:
            person["last_name"] += " "
        elif r < 0.17:
            person["last_name"] = person["last_name"].upper()
        elif r < 0.22:
            person["first_name"] = " " + person["first_name"]
        if person["email"] and self.rng.random() < 0.2:
            person["email"] = self.email(person["first_name"].strip(), person["last_name"].strip(),
                                         self.pick(GUARDIAN_DOMAINS), sep="")
        return person

    def specials(self) -> set[int]:
        """Hostile names and a pupil who is also a guardian; returns their pupil ids."""
        ds, rng = self.ds, self.rng
        class_id, year = rng.choice(self.regular_classes)
        obrien = self.pupil(class_id, self.birthday(year), True, "Łucja", "O'Brien-Nowak",
                            clean=True)
        mother = self.person(dt.date(1984, 7, 9), True, "Siobhan", "O'Brien-Nowak",
                             clean=True)
        ds.hostile += [("pupils", obrien["id"]),
                       ("guardians", self.guardian(obrien["id"], mother, "matka"))]
        class_id, year = rng.choice(self.regular_classes)
        weird = self.pupil(class_id, self.birthday(year), False, "Jan",
                           'Kowalski, Jr. (+) "<test>"; a=b*\\', "Zbigniew", clean=True)
        ds.hostile.append(("pupils", weird["id"]))
        # An adult in an evening class (LO dla dorosłych) whose son is in grade 1.
        school_id = next(s["id"] for s in ds.schools if s["name"].startswith("Liceum"))
        adult = self.pupil(self.add_class(school_id, "2 LOD"), dt.date(2000, 3, 14), True,
                           "Żaneta", "Ćwik", "Małgorzata", clean=True)
        first_grade = next(c for c, y in self.regular_classes if y == 2018)
        son = self.pupil(first_grade, dt.date(2018, 5, 2), False, "Józef", "Ćwik",
                         clean=True)
        as_guardian = {k: adult[k] for k in ("pesel", "first_name", "last_name")}
        as_guardian["email"] = self.email("Żaneta", "Ćwik", "example.com")
        ds.dual_role.append((adult["id"], self.guardian(son["id"], as_guardian, "matka")))
        return {obrien["id"], weird["id"], adult["id"], son["id"]}

    # --- defects

    def inject_bad(self, protected: set[int]) -> None:
        ds, rng = self.ds, self.rng
        guarded = {i for t, i in ds.hostile if t == "guardians"} | {g for _, g in ds.dual_role}
        rows_per_pesel = Counter(g["pesel"] for g in ds.guardians)
        candidates = {
            "pupils": [p for p in ds.pupils if p["id"] not in protected and p["email"]],
            # Only people entered once, so a defect does not leak into a sibling's row.
            "guardians": [g for g in ds.guardians if g["id"] not in guarded and g["email"]
                          and rows_per_pesel[g["pesel"]] == 1],
        }
        for table, rows in candidates.items():
            picks = rng.sample(rows, 8)
            a = picks.pop()
            b = next(r for r in picks if _names(r) != _names(a))
            picks.remove(b)
            b["pesel"] = a["pesel"]
            ds.bad += [BadRecord(table, a["id"], "pesel_conflict"),
                       BadRecord(table, b["id"], "pesel_conflict")]
            defects = sorted(PESEL_PROBLEMS - {"pesel_conflict"})
            for problem, row in zip(defects, picks[:4], strict=True):
                row["pesel"] = _broken(problem, row["pesel"], table)
                ds.bad.append(BadRecord(table, row["id"], problem))
            invalid, missing = picks[-2:]
            first, last = slug(invalid["first_name"]), slug(invalid["last_name"])
            invalid["email"] = f"{first}.{last}@" if table == "pupils" else f"{last} at example.pl"
            ds.bad.append(BadRecord(table, invalid["id"], "email_invalid"))
            missing["email"] = None  # recorded below with all the others
        for table in ("pupils", "guardians"):
            ds.bad += [BadRecord(table, r["id"], "email_missing")
                       for r in getattr(ds, table) if r["email"] is None]


def _broken(problem: str, value: str, table: str) -> str | None:
    """A PESEL damaged in the way ``problem`` names (pupils and guardians differ a little)."""
    if problem == "pesel_missing":
        return None if table == "pupils" else "  "
    if problem == "pesel_format":  # ten digits, or a letter O typed for a zero
        return value[:10] if table == "pupils" else value[:5] + "O" + value[6:]
    if problem == "pesel_invalid_checksum":
        return value[:10] + str((int(value[10]) + 1) % 10)
    # pesel_invalid_date: 30 February in the same century, with a correct check digit.
    head = value[:2] + f"{int(value[2:4]) // 20 * 20 + 2:02d}30" + value[6:10]
    return head + str(pesel.check_digit(head))
