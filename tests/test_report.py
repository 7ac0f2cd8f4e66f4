"""The data-quality report lists every bad record of the demo data, per school and class."""

import contextlib
import csv
import io
import json
from collections import defaultdict

from test_cli import run

from provisioner.core import pesel
from provisioner.demo import data


def expected(dataset):
    """(table, id, code) the report must list: every PESEL problem; an e-mail problem only
    where the person has no valid address on any other row (else they can be notified)."""
    bad = {(b.table, b.id): b.problem for b in dataset.bad}
    rows = {("pupils", p["id"]): p for p in dataset.pupils}
    rows |= {("guardians", g["id"]): g for g in dataset.guardians}
    active_pupils = {p["id"] for p in dataset.pupils if p["id"] not in dataset.leavers}
    active = {k for k in rows if k[0] == "pupils" and k[1] in active_pupils}
    active |= {("guardians", link["guardian_id"]) for link in dataset.pupil_guardians
               if link["pupil_id"] in active_pupils}
    by_pesel = defaultdict(list)
    for key in active:
        with contextlib.suppress(pesel.InvalidPesel):
            by_pesel[pesel.normalize(rows[key]["pesel"])].append(key)
    out = set()
    for key, problem in bad.items():
        if key not in active:
            continue
        if problem.startswith("email"):
            value = pesel.normalize(rows[key]["pesel"])
            if any(bad.get(k) not in ("email_missing", "email_invalid") for k in by_pesel[value]):
                continue  # another row of the same person carries a good address
        out.add((*key, problem))
    return out


def test_report_lists_every_bad_record_of_the_demo_data(tmp_path):
    dataset = data.create_demo_database(tmp_path / "u.sqlite", pupils=120, seed=5)
    env = {"PROVISIONER_SOURCE__URL": f"sqlite:///{tmp_path / 'u.sqlite'}"}
    out = run("report", "--format", "json", env=env)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    listed = {("pupils" if r["person"] == "uczeń" else "guardians", r["source_id"], r["code"])
              for r in report}
    assert listed == expected(dataset)
    assert {c for _, _, c in listed} >= set(data.PROBLEMS)
    for r in report:
        assert r["school"] and r["class"] and r["fix_by"] in ("sekretariat", "wychowawca")
        assert len(r["pesel"].rstrip("*")) <= 6 or r["pesel"] == "(brak)"
    every_pesel = {p["pesel"] for p in dataset.pupils + dataset.guardians if p["pesel"]}
    text = run("report", env=env).stdout
    assert "Raport jakości danych" in text
    assert not [p for p in every_pesel if len(p.strip()) >= 7 and p.strip() in text + out.stdout]
    table = list(csv.DictReader(io.StringIO(run("report", "--format", "csv", env=env).stdout)))
    assert len(table) == len(report) and table[0].keys() >= {"school", "class", "problem", "fix_by"}
