import pytest

from provisioner.core import names


@pytest.mark.parametrize("raw,ascii_", [
    ("Zażółć gęślą jaźń", "Zazolc gesla jazn"),
    ("ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż", "ACELNOSZZ acelnoszz"),
    ("Łukasz Łęcki", "Lukasz Lecki"),
    ("Müller Straße", "Muller Strasse"),
    ("Renée Ørsted", "Renee Orsted"),
])
def test_transliteration(raw, ascii_):
    assert names.transliterate(raw) == ascii_


def test_clean_trims_collapses_and_composes():
    assert names.clean("  Jo\u0301zef   Nowak ") == "Józef Nowak"
    assert names.clean(None) == ""


@pytest.mark.parametrize("first,last,login", [
    ("Łukasz", "Wójcik", "lukasz.wojcik"),
    ("Anna Maria", "Nowak-Kowalska", "anna-maria.nowak-kowalska"),
    ("Seán", "O'Brien", "sean.o-brien"),
    ("Jan", 'Kowalski, Jr. (+) "<x>"; a=b*\\', "jan.kowalski-jr.-x-a-b"),
    ("李", "王", "user"),
])
def test_login_base(first, last, login):
    assert names.login_base("{first_name}.{last_name}", first, last, 32) == login


def test_login_is_capped():
    login = names.login_base("{first_name}.{last_name}", "Grzegorz", "Brzęczyszczykiewicz-Wielkopolski", 20)
    assert len(login) <= 20 and not login.endswith(("-", "."))


def test_collisions_get_numbers_and_fit_the_cap():
    taken = {"jan.nowak", "jan.nowak2"}
    assert names.allocate_numbered("jan.nowak", taken.__contains__, 32) == ("jan.nowak3", 3)
    assert names.allocate_numbered("ewa.lis", taken.__contains__, 32) == ("ewa.lis", 1)
    assert names.allocate_numbered("jan.nowak", taken.__contains__, 32, start=7) == ("jan.nowak7", 7)
    long = "a" * 32
    assert names.allocate_numbered(long, {long}.__contains__, 32)[0] == "a" * 31 + "2"


def test_class_slug():
    assert names.class_slug("3 TI") == "3ti"
    assert names.class_slug("1ą") == "1a"


def test_same_person_ignores_case_spacing_and_diacritics():
    assert names.same_person(("Łukasz ", "NOWAK"), ("lukasz", "Nowak"))
    assert not names.same_person(("Łukasz", "Nowak"), ("Łucja", "Nowak"))
