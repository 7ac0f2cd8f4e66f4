import pytest

from provisioner.core.guard import Limits, refusal


@pytest.mark.parametrize("removals,managed,refused", [
    (0, 0, False), (0, 10, False),
    (5, 100, False), (10, 100, False), (11, 100, True),     # the 10 % share
    (50, 1000, False), (51, 1000, True),                     # the count
    (8, 10, True),                                           # 80 % of a small school
    (1, 0, True),
])
def test_limits(removals, managed, refused):
    reason = refusal(removals, managed, Limits(50, 0.10))
    assert (reason is not None) == refused
    if refused:
        assert str(removals) in reason
