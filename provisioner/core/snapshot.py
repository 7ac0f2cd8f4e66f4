"""What the directory holds, as the planner sees it: plain data, read by the adapter.

``Account`` is not declared frozen for speed (see ``model``); nothing changes its data
(``in_step``, the planner's note of a comparison already made, is the one field set later).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

Values = tuple[str, ...]

# What the planner reads from a managed person entry (the snapshot asks for no more).
ACCOUNT_ATTRS = (
    "uid", "cn", "sn", "givenName", "displayName", "mail", "employeeType",
    "provisionerPeselHmac", "provisionerSourceKey", "provisionerDisabledAt",
    "provisionerActivatedAt", "pwdAccountLockedTime",
)
GROUP_ATTRS = ("cn", "member", "description", "objectClass")


@dataclass(slots=True)  # not frozen: see the module docstring
class Account:
    """A managed person entry; attribute names are lower-case."""

    dn: str
    attrs: dict[str, Values]
    # The two the planner looks up for every account, read once here.
    key: str = field(init=False)  # the PESEL HMAC
    uid: str = field(init=False)
    # The planner's note that this entry needs nothing for that very Person object:
    # see plan.update_change. Only the daemon, which keeps both between runs, gains.
    in_step: object = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.key = self.first("provisionerPeselHmac") or ""
        self.uid = self.first("uid") or ""

    def first(self, name: str) -> str | None:
        values = self.attrs.get(name.lower())
        return values[0] if values else None

    @property
    def source_keys(self) -> Values:
        return self.attrs.get("provisionersourcekey", ())

    @property
    def disabled_at(self) -> dt.datetime | None:
        values = self.attrs.get("provisionerdisabledat")  # once per account per run: no lower()
        return parse_time(values[0]) if values else None


@dataclass(frozen=True, slots=True)
class Group:
    """A group entry under the groups OU, managed or not."""

    dn: str
    cn: str
    managed: bool
    members: Values
    description: str | None = None


@dataclass(slots=True)
class Snapshot:
    accounts: list[Account] = field(default_factory=list)
    groups: dict[str, Group] = field(default_factory=dict)  # by lower-case cn
    # Every login in use under the base DN, managed or hand-made, lower-case.
    taken_logins: set[str] = field(default_factory=set)
    people_ou: bool = False
    groups_ou: bool = False


def format_time(moment: dt.datetime) -> str:
    """LDAP GeneralizedTime in UTC."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")


def parse_time(value: str) -> dt.datetime:
    """Parse GeneralizedTime as written by us or by slapd (fractions tolerated)."""
    digits = value.rstrip("Z").split(".")[0]
    return dt.datetime.strptime(digits[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
