"""The data-quality report for the secretariat and class teachers: what to fix in UONET.

Lists, per school and class, the pupils and guardians who cannot get an account
(missing, invalid or duplicate PESEL, missing name) or cannot be notified (missing
or invalid e-mail). Names and source ids are shown; a PESEL only masked.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from ..core.model import CLASS_TEACHER, Place, Problem

NO_CLASS = Place("", "(bez szkoły)", "(bez klasy)")
WHO = {"pupils": "uczeń", "guardians": "rodzic/opiekun"}
WHAT = {
    "pesel_missing": "brak numeru PESEL",
    "pesel_format": "PESEL nie ma 11 cyfr",
    "pesel_invalid_checksum": "błędna cyfra kontrolna PESEL (literówka?)",
    "pesel_invalid_date": "PESEL z nieistniejącą datą urodzenia",
    "pesel_conflict": "ten sam PESEL wpisany różnym osobom",
    "name_missing": "brak imienia lub nazwiska",
    "email_missing": "brak adresu e-mail",
    "email_invalid": "błędny adres e-mail",
}
FIXER = {CLASS_TEACHER: "wychowawca", "sekretariat": "sekretariat"}
FIELDS = {"pesel": "PESEL", "email": "e-mail", "first_name": "imię", "last_name": "nazwisko"}
COLUMNS = ("school", "rspo", "class", "person", "source_id", "first_name", "last_name", "problem",
           "field", "fix_by", "pesel", "blocks_account")


def rows(problems: Iterable[Problem]) -> list[dict]:
    """One row per problem and class (a guardian's problem shows in each child's class)."""
    out = []
    for p in problems:
        for place in p.places or (NO_CLASS,):
            out.append({
                "school": place.school, "rspo": place.rspo, "class": place.class_code,
                "person": WHO[p.table], "source_id": p.id, "first_name": p.first_name,
                "last_name": p.last_name, "problem": WHAT.get(p.code, p.code),
                "code": p.code, "field": FIELDS.get(p.field, p.field),
                "fix_by": FIXER.get(p.fixer, p.fixer), "pesel": p.pesel_masked,
                "blocks_account": p.rejected,
            })
    out.sort(key=lambda r: (r["school"], r["class"], not r["blocks_account"], r["person"],
                            r["last_name"], r["first_name"], r["source_id"]))
    return out


def as_text(report: list[dict]) -> str:
    if not report:
        return "Raport jakości danych: wszystkie rekordy są w porządku."
    blocked = sum(r["blocks_account"] for r in report)
    lines = [f"Raport jakości danych UONET: {blocked} bez konta, {len(report) - blocked}"
             " bez możliwości powiadomienia e-mailem."]
    current = None
    for r in report:
        if (r["school"], r["class"]) != current:
            current = (r["school"], r["class"])
            lines.append(f"\n{r['school']} ({r['rspo']}), klasa {r['class']}")
        kind = "BEZ KONTA" if r["blocks_account"] else "bez e-maila"
        lines.append(f"  [{kind}] {r['person']} {r['first_name']} {r['last_name']}"
                     f" (id {r['source_id']}, PESEL {r['pesel']}): {r['problem']};"
                     f" popraw pole {r['field']} - {r['fix_by']}")
    return "\n".join(lines)


def as_csv(report: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS + ("code",), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(report)
    return buf.getvalue()


def as_json(report: list[dict]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


RENDER = {"text": as_text, "csv": as_csv, "json": as_json}
