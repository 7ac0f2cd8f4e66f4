"""The demo UONET source generator: realistic, deterministic, and honest about its defects."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections import defaultdict

import pytest

from provisioner.core import names, pesel
from provisioner.demo import data

EMAIL = re.compile(r"^[a-z0-9.-]+@[a-z0-9.-]+\.[a-z]+$")
FEMALE_TO_MALE = {f: m for m, f in data.SURNAMES}


@pytest.fixture(scope="module")
def ds() -> data.Dataset:
    return data.generate(1000, seed=7)


def bad_ids(ds: data.Dataset, table: str, problems: frozenset[str] | tuple[str, ...]) -> set[int]:
    return {b.id for b in ds.bad if b.table == table and b.problem in problems}


def test_same_seed_same_data_other_seed_other_data() -> None:
    assert data.generate(200, seed=5) == data.generate(200, seed=5)
    assert data.generate(200, seed=5).pupils != data.generate(200, seed=6).pupils


def test_sizes_and_schools() -> None:
    ds = data.generate(5000, seed=2)
    assert len(ds.pupils) == 5000
    assert len(ds.schools) == 10  # one school per 500 pupils: 200 at 100 000
    assert all(re.fullmatch(r"\d{7,8}", s["rspo"]) for s in ds.schools)
    assert len({s["rspo"] for s in ds.schools}) == len(ds.schools)
    codes = {c["code"] for c in ds.classes}
    assert {"1a", "3 TI", "4 LO"} <= codes and any(" " in c for c in codes)
    with pytest.raises(ValueError):
        data.generate(data.MIN_PUPILS - 1)


def test_good_pesels_are_valid_and_one_per_person(ds: data.Dataset) -> None:
    people: dict[str, tuple[str, str]] = {}
    for table in ("pupils", "guardians"):
        skip = bad_ids(ds, table, data.PESEL_PROBLEMS)
        for row in getattr(ds, table):
            if row["id"] not in skip:
                assert pesel.normalize(row["pesel"]) == row["pesel"]
                # Guardians repeat per child and one adult pupil is also a guardian.
                person = people.setdefault(row["pesel"], _names(row))
                assert names.same_person(person, _names(row))


@pytest.mark.parametrize("table", ["pupils", "guardians"])
def test_every_problem_kind_is_present_and_real(ds: data.Dataset, table: str) -> None:
    rows = {r["id"]: r for r in getattr(ds, table)}
    found = {b.problem for b in ds.bad if b.table == table}
    assert found == set(data.PROBLEMS)
    for b in ds.bad:
        if b.table != table:
            continue
        value = rows[b.id]["pesel"]
        if b.problem == "pesel_conflict":
            others = [r for r in rows.values() if r["pesel"] == value and r["id"] != b.id]
            assert any(not names.same_person(_names(r), _names(rows[b.id])) for r in others)
            assert {r["id"] for r in others} <= bad_ids(ds, table, ("pesel_conflict",))
        elif b.problem in data.PESEL_PROBLEMS:
            with pytest.raises(pesel.InvalidPesel):
                pesel.normalize(value)
        if b.problem == "pesel_invalid_date":  # only the date is wrong, not the digits
            assert len(value) == 11 and pesel.check_digit(value[:10]) == int(value[10])
        if b.problem == "email_missing":
            assert rows[b.id]["email"] is None
        if b.problem == "email_invalid":
            assert not EMAIL.match(rows[b.id]["email"])
    missing = {r["id"] for r in rows.values() if r["email"] is None}
    assert missing == bad_ids(ds, table, ("email_missing",))
    email_bad = bad_ids(ds, table, ("email_missing", "email_invalid"))
    assert all(EMAIL.match(r["email"]) for r in rows.values() if r["id"] not in email_bad)


def test_clean_dataset_has_no_defects() -> None:
    ds = data.generate(300, seed=3, bad_records=False)
    assert ds.bad == []
    for row in ds.pupils + ds.guardians:
        pesel.normalize(row["pesel"])
        assert EMAIL.match(row["email"])


def test_siblings_share_guardians_through_separate_rows(ds: data.Dataset) -> None:
    pupils = {p["id"]: p for p in ds.pupils}
    links = defaultdict(list)
    for link in ds.pupil_guardians:
        links[link["guardian_id"]].append(link["pupil_id"])
    assert all(len(kids) == 1 for kids in links.values())  # one row per child, as in UONET
    rows_by_pesel = defaultdict(list)
    skip = bad_ids(ds, "guardians", data.PESEL_PROBLEMS)
    for g in ds.guardians:
        if g["id"] not in skip:
            rows_by_pesel[g["pesel"]].append(g)
    shared = [rows for rows in rows_by_pesel.values() if len(rows) > 1]
    assert len(shared) > 50
    drift = 0
    for rows in shared:
        kids = [pupils[links[g["id"]][0]] for g in rows]
        assert len({k["id"] for k in kids}) == len(kids)
        if any(g["id"] in {gid for _, gid in ds.dual_role} for g in rows):
            continue
        surnames = {FEMALE_TO_MALE.get(k["last_name"], k["last_name"]) for k in kids}
        assert len(surnames) == 1
        assert all(names.same_person(_names(rows[0]), _names(g)) for g in rows)
        drift += len({(g["first_name"], g["last_name"], g["email"]) for g in rows}) > 1
    assert drift > 5  # same person, entered slightly differently for another child


def test_guardians_per_pupil(ds: data.Dataset) -> None:
    assert 1.35 < len(ds.pupil_guardians) / len(ds.pupils) < 1.65
    per_pupil = defaultdict(int)
    for link in ds.pupil_guardians:
        per_pupil[link["pupil_id"]] += 1
    assert max(per_pupil.values()) == 2
    assert {link["relation"] for link in ds.pupil_guardians} == {"matka", "ojciec",
                                                                  "opiekun prawny"}


def test_ages_and_special_rows(ds: data.Dataset) -> None:
    pupils = {p["id"]: p for p in ds.pupils}
    guardians = {g["id"]: g for g in ds.guardians}
    adult_ids = {p for p, _ in ds.dual_role}
    skip_p = bad_ids(ds, "pupils", data.PESEL_PROBLEMS) | adult_ids
    skip_g = bad_ids(ds, "guardians", data.PESEL_PROBLEMS) | {g for _, g in ds.dual_role}
    assert {pesel.birth_date(p["pesel"]).year for p in ds.pupils if p["id"] not in skip_p} <= set(
        range(2008, 2020))
    assert {pesel.birth_date(g["pesel"]).year for g in ds.guardians if g["id"] not in skip_g} <= (
        set(range(1960, 1996)))
    [(pupil_id, guardian_id)] = ds.dual_role
    adult, parent = pupils[pupil_id], guardians[guardian_id]
    assert adult["pesel"] == parent["pesel"]
    assert names.same_person(_names(adult), _names(parent))
    assert pesel.birth_date(adult["pesel"]).year == 2000
    [leaver] = ds.leavers
    assert pupils[leaver]["left_on"] < dt.date.today()
    assert [p for p in ds.pupils if p["left_on"]] == [pupils[leaver]]
    hostile = [pupils[i] if t == "pupils" else guardians[i] for t, i in ds.hostile]
    assert any(set(',+"\\<>;=*()') <= set(r["last_name"]) for r in hostile)
    assert any(r["last_name"] == "O'Brien-Nowak" for r in hostile)
    assert not {(b.table, b.id) for b in ds.bad} & set(ds.hostile)


def test_write_sqlite_schema_and_rows(ds: data.Dataset, tmp_path) -> None:
    path = tmp_path / "uonet.db"
    path.write_text("not a database")  # overwritten, not appended to
    data.write_sqlite(ds, path)
    con = sqlite3.connect(path)
    reference = sqlite3.connect(":memory:")
    reference.executescript("""
        CREATE TABLE schools  (id INTEGER PRIMARY KEY, rspo TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL);
        CREATE TABLE classes  (id INTEGER PRIMARY KEY,
            school_id INTEGER NOT NULL REFERENCES schools(id), code TEXT NOT NULL);
        CREATE TABLE pupils   (id INTEGER PRIMARY KEY,
            class_id INTEGER NOT NULL REFERENCES classes(id), pesel TEXT,
            first_name TEXT NOT NULL, second_name TEXT, last_name TEXT NOT NULL, email TEXT,
            left_on DATE, modified_at TIMESTAMP);
        CREATE TABLE guardians (id INTEGER PRIMARY KEY, pesel TEXT, first_name TEXT NOT NULL,
            last_name TEXT NOT NULL, email TEXT, modified_at TIMESTAMP);
        CREATE TABLE pupil_guardians (pupil_id INTEGER NOT NULL REFERENCES pupils(id),
            guardian_id INTEGER NOT NULL REFERENCES guardians(id), relation TEXT,
            PRIMARY KEY (pupil_id, guardian_id));
    """)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert sorted(tables) == sorted(data.COLUMNS)
    for table in data.COLUMNS:
        for pragma in ("table_info", "foreign_key_list", "index_list"):
            query = f"PRAGMA {pragma}({table})"
            got = [r[:6] for r in con.execute(query)]
            assert got == [r[:6] for r in reference.execute(query)], (table, pragma)
        count = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert count == len(getattr(ds, table))
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    row = con.execute("SELECT * FROM pupils WHERE id = ?", (ds.leavers[0],)).fetchone()
    assert dt.date.fromisoformat(row[7]) == ds.pupils[ds.leavers[0] - 1]["left_on"]
    assert dt.datetime.fromisoformat(row[8]) == ds.pupils[ds.leavers[0] - 1]["modified_at"]


def test_schema_splits_into_portable_statements() -> None:
    statements = [s for s in data.SCHEMA_SQL.split(";") if s.strip()]
    assert len(statements) == 5
    con = sqlite3.connect(":memory:")
    for statement in statements:
        con.execute(statement)


def test_write_to_sqlalchemy_url_twice(tmp_path) -> None:
    path = tmp_path / "via-url.db"
    data.write(data.generate(100, seed=9), f"sqlite:///{path}")
    small = data.generate(50, seed=9)
    data.write(small, f"sqlite:///{path}")  # drops and recreates
    con = sqlite3.connect(path)
    for table in data.COLUMNS:
        count = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert count == len(getattr(small, table))
    got = con.execute("SELECT last_name, modified_at FROM pupils WHERE id = 2").fetchone()
    assert got == (small.pupils[1]["last_name"], str(small.pupils[1]["modified_at"]))


def test_create_demo_database(tmp_path) -> None:
    ds = data.create_demo_database(tmp_path / "demo.db", pupils=40, seed=4)
    assert ds == data.generate(40, seed=4)
    con = sqlite3.connect(tmp_path / "demo.db")
    assert con.execute("SELECT count(*) FROM pupils").fetchone()[0] == 40


def _names(row: dict) -> tuple[str, str]:
    return row["first_name"], row["last_name"]
