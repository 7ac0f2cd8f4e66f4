import pytest

from provisioner.core.diff import Mod, diff

MANAGED = ("cn", "mail", "employeeType")

TABLE = [
    # (old, new, expected)
    ({}, {}, ()),
    ({"cn": ["A"]}, {"CN": ["A"]}, ()),                                  # names case-insensitive
    ({"employeeType": ["pupil", "guardian"]}, {"employeetype": ["guardian", "pupil"]}, ()),  # sets
    ({"cn": ["A"]}, {"cn": ["B"]}, (Mod("replace", "cn", ("B",)),)),
    ({"cn": ["a"]}, {"cn": ["A"]}, (Mod("replace", "cn", ("A",)),)),      # values keep their case
    ({}, {"mail": ["x@y.pl"]}, (Mod("add", "mail", ("x@y.pl",)),)),
    ({"mail": ["x@y.pl"]}, {}, (Mod("delete", "mail"),)),
    ({"mail": ["x@y.pl"]}, {"mail": []}, (Mod("delete", "mail"),)),
    ({"userPassword": ["{SSHA}x"]}, {}, ()),                             # unmanaged: untouched
]


@pytest.mark.parametrize("old,new,expected", TABLE)
def test_diff_table(old, new, expected):
    assert diff(old, new, MANAGED) == expected
