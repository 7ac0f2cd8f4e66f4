import datetime as dt
import hashlib
import hmac

import pytest

from provisioner.core import pesel
from provisioner.core.model import GUARDIAN, PUPIL, Place, SourceRow
from provisioner.core.validate import hasher, normalize_email, validate

TODAY = dt.date(2026, 9, 1)
DIGEST = hasher(b"k" * 32)
A = Place("1234567", "SP 12", "1a")
B = Place("7654321", "LO 3", "2 TI")
P1 = pesel.make(dt.date(2015, 3, 4), 11)
P2 = pesel.make(dt.date(1985, 6, 7), 22, female=True)


def row(table, id, p, first="Jan", last="Nowak", email=None, places=(A,), **kw):
    return SourceRow(table, id, p, first, last, email, places=places, **kw)


def test_guardian_entered_once_per_child_is_one_person_in_both_classes():
    r = validate([
        row("guardians", 1, P2, "Ewa", "Nowak", "ewa@X.PL", (A,),
            modified_at=dt.datetime(2026, 1, 1)),
        row("guardians", 2, P2, " ewa ", "NOWAK", None, (B,)),
    ], DIGEST, TODAY)
    (ewa,) = r.people.values()
    assert ewa.roles == (GUARDIAN,) and ewa.source_keys == ("guardian:1", "guardian:2")
    assert {p for _, p in ewa.places} == {A, B}
    assert ewa.email == "ewa@x.pl" and ewa.first_name == "Ewa"
    assert r.problems == ()


def test_pupil_who_is_also_a_guardian_has_both_roles():
    r = validate([row("pupils", 1, P2, "Ewa", "Nowak"), row("guardians", 9, P2, "Ewa", "Nowak")],
                 DIGEST, TODAY)
    assert next(iter(r.people.values())).roles == (GUARDIAN, PUPIL)  # sorted


def test_conflicting_pesel_rejects_both_and_holds_their_account():
    r = validate([row("pupils", 1, P1, "Jan", "Nowak"), row("guardians", 2, P1, "Piotr", "Lis")],
                 DIGEST, TODAY)
    assert r.people == {}
    assert [(p.table, p.code) for p in r.rejected] == [("pupils", "pesel_conflict"),
                                                       ("guardians", "pesel_conflict")]
    assert r.held_keys == {DIGEST(P1)}


def test_bad_pesels_are_rejected_with_a_reason_and_no_pesel_in_it():
    bad = "44051401358"
    r = validate([row("pupils", 1, None), row("pupils", 2, bad), row("pupils", 3, P1)], DIGEST, TODAY)
    assert [p.code for p in r.rejected] == ["pesel_missing", "pesel_invalid_checksum"]
    assert all(bad not in repr(p) for p in r.problems)
    assert r.rejected[1].pesel_masked == "440514*****" and r.held_source_keys == {"pupil:1", "pupil:2"}
    assert len(r.people) == 1


def test_invalid_email_keeps_the_person_without_mail():
    r = validate([row("pupils", 1, P1, email="jan@")], DIGEST, TODAY)
    assert next(iter(r.people.values())).email is None
    assert [(p.code, p.rejected, p.fixer) for p in r.problems] == [("email_invalid", False, "wychowawca")]


def test_leaver_and_guardian_without_pupils_are_not_people():
    r = validate([row("pupils", 1, P1, left_on=TODAY), row("guardians", 2, P2, places=())],
                 DIGEST, TODAY)
    assert r.people == {} and r.problems == ()


def test_pesel_never_in_person_and_hmac_is_keyed():
    r = validate([row("pupils", 1, P1)], DIGEST, TODAY)
    assert P1 not in repr(r)
    assert hasher(b"other-key" * 4)(P1) != DIGEST(P1)


@pytest.mark.parametrize("key", [b"", b"k" * 32, b"k" * 64, b"k" * 65, bytes(range(256))])
def test_hasher_is_hmac_sha256(key):
    # The hasher precomputes the padded key; it must stay exactly RFC 2104, or every
    # account in a directory would stop matching its person.
    for value in (P1, P2, "00000000000", "99123199999"):
        assert hasher(key)(value) == hmac.digest(key, value.encode(), hashlib.sha256).hex()


def test_email_normalisation():
    assert normalize_email("  Jan.Kowalski@Szkola.EDU.pl ") == "Jan.Kowalski@szkola.edu.pl"
    assert normalize_email("") is None


def test_fast_email_path_agrees_with_email_validator():
    import random

    from email_validator import EmailNotValidError, validate_email

    from provisioner.core.validate import plain_email

    rng = random.Random(4)
    alphabet = "abcXYZ019._+-@"
    samples = ["jan@szkola.edu.pl", "Jan.Kowalski@Szkola.EDU.pl", "a@b.test", "a@x.local",
               "a@x.p1", "a@-x.pl", "a..b@x.pl", ".a@x.pl", "a.@x.pl", "a@x.com.", "a" * 65 + "@x.pl",
               "a@" + "b" * 64 + ".pl", "x@y.localhost", "x@onion"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 14))) + ".pl"
                for _ in range(3000)]
    accepted = 0
    for address in samples:
        fast = plain_email(address)
        if fast is None:
            continue
        accepted += 1
        result = validate_email(address, check_deliverability=False)  # must not raise
        assert fast == f"{result.local_part}@{result.domain.lower()}", address
    assert accepted > 100
    for address in ("a@b.test", "a..b@x.pl", "a@x.p1"):
        assert plain_email(address) is None
        with __import__("pytest").raises(EmailNotValidError):
            validate_email(address, check_deliverability=False)


def random_rows(rng, n=300):
    """Rows with every kind of verdict: good, bad PESELs, empty names, shared PESELs that
    agree and that conflict, bad e-mails, leavers, guardians without a class."""
    pesels = [pesel.make(dt.date(2000 + i % 20, 1 + i % 12, 1 + i % 28), i) for i in range(n // 3)]
    out = []
    for i in range(n):
        table = rng.choice(["pupils", "guardians"])
        p = rng.choice(pesels + [None, "123", pesels[0][:-1] + "0"])
        out.append(SourceRow(
            table, i, p, rng.choice(["Jan", "Ewa", "", "Łucja"]), rng.choice(["Nowak", "Lis"]),
            rng.choice([None, f"x{i}@example.pl", "zły@", "a@B.PL"]),
            places=rng.choice([(A,), (B,), (A, B), ()]),
            left_on=rng.choice([None, None, TODAY, TODAY + dt.timedelta(days=1)]),
            modified_at=rng.choice([None, "2026-01-02 03:04:05", dt.datetime(2025, 5, 5)])))
    return out


def test_a_memo_changes_nothing_but_the_time_it_takes():
    """Run after run, with rows changed, added and removed and the date moving on,
    validating with the memo of the run before gives exactly what validating afresh does."""
    import random

    from provisioner.core.validate import Memo

    rng, memo = random.Random(7), Memo()
    rows, today = random_rows(rng), TODAY
    for step in range(8):
        with_memo = validate(list(rows), DIGEST, today, memo)
        assert with_memo == validate(list(rows), DIGEST, today), f"step {step}"
        assert memo.today == today and len(memo.rows) == len({r.source_key for r in rows})
        fresh = random_rows(rng)
        rows = [fresh[i] if rng.random() < 0.1 else r for i, r in enumerate(rows)][: 280 + step * 5]
        if step == 4:
            today += dt.timedelta(days=1)  # TODAY + 1: leavers of that day are gone


def test_a_memo_holds_no_pesel_in_its_repr():
    from provisioner.core.validate import Memo

    memo = Memo()
    validate([row("pupils", 1, P1)], DIGEST, TODAY, memo)
    assert P1 not in repr(memo) and P1[:6] not in repr(memo)
