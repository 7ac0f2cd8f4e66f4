import datetime as dt

import pytest

from provisioner.core import pesel

VALID = [
    ("44051401359", dt.date(1944, 5, 14)),   # the canonical example
    ("02070803628", dt.date(1902, 7, 8)),
    ("02270803624", dt.date(2002, 7, 8)),
    ("02470803620", dt.date(2102, 7, 8)),
    ("02670803626", dt.date(2202, 7, 8)),
    ("02870803622", dt.date(1802, 7, 8)),
    ("00222900009", dt.date(2000, 2, 29)),   # leap day of a leap century year
]


@pytest.mark.parametrize("value,born", VALID)
def test_valid_vectors_decode_all_five_centuries(value, born):
    assert pesel.normalize(value) == value
    assert pesel.birth_date(value) == born


@pytest.mark.parametrize("year", [1800, 1899, 1900, 1999, 2000, 2099, 2100, 2199, 2200, 2299])
def test_make_round_trips_every_century(year):
    value = pesel.make(dt.date(year, 12, 31), serial=417, female=True)
    assert pesel.birth_date(pesel.normalize(value)) == dt.date(year, 12, 31)
    assert int(value[9]) % 2 == 0


@pytest.mark.parametrize("value,message", [
    (None, "missing"), ("", "missing"), ("   ", "missing"),
    ("4405140135", "11 digits"), ("440514013590", "11 digits"), ("4405140135a", "11 digits"),
    ("４４０５１４０１３５９", "11 digits"),                # full-width digits are not ASCII
    ("44051401358", "check digit"),
    ("44053201353", "date"),                             # 32nd of May
    ("01022900000", "date"),                             # 29 Feb 1901 is not a leap day
    ("44931401354", "date"),                             # month 93 is 13 in the 1800s
])
def test_invalid_vectors_say_why_without_the_value(value, message):
    with pytest.raises(pesel.InvalidPesel) as err:
        pesel.normalize(value)
    assert message in str(err.value)
    if value and value.strip():
        assert value not in str(err.value)


def test_spaces_are_tolerated():
    assert pesel.normalize(" 440514 01359 ") == "44051401359"


def test_mask_shows_at_most_six_digits():
    assert pesel.mask("44051401359") == "440514*****"
    assert pesel.mask(None) == "(brak)"
    assert pesel.mask("123") == "***"


def test_check_digit_matches_the_textbook_formula():
    # check_digit is written for speed; hold it to the definition on many inputs.
    import random

    rng = random.Random(7)
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    for _ in range(5000):
        ten = "".join(rng.choice("0123456789") for _ in range(10))
        expected = (10 - sum(int(c) * w for c, w in zip(ten, weights, strict=True)) % 10) % 10
        assert pesel.check_digit(ten) == expected
