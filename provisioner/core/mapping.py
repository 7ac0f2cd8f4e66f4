"""People → the directory entries and groups they should have. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from . import dn
from .model import GUARDIAN, PUPIL, Person, Place
from .names import class_slug

PERSON_CLASSES = ("top", "person", "organizationalPerson", "inetOrgPerson", "provisionerAccount")
GROUP_CLASSES = ("top", "groupOfNames", "provisionerGroup")
# What the provisioner owns on a person entry; anything else is left alone.
PERSON_ATTRS = (
    "cn", "sn", "givenName", "displayName", "mail", "employeeType",
    "provisionerPeselHmac", "provisionerSourceKey",
)
GROUP_ATTRS = ("description",)
ROLE_GROUPS = {PUPIL: "pupils", GUARDIAN: "guardians"}
ROLE_LABEL = {PUPIL: "Uczniowie", GUARDIAN: "Rodzice i opiekunowie"}


@dataclass(frozen=True, slots=True)
class Layout:
    """Where entries go and how logins are made."""

    base_dn: str
    people_ou: str = "people"
    groups_ou: str = "groups"
    login_template: str = "{first_name}.{last_name}"
    login_max_length: int = 32

    # Made once: person_dn runs for every new account (200 000 in a first sync).
    people_dn: str = field(init=False)
    groups_dn: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "people_dn", f"ou={dn.escape_rdn(self.people_ou)},{self.base_dn}")
        object.__setattr__(self, "groups_dn", f"ou={dn.escape_rdn(self.groups_ou)},{self.base_dn}")

    def person_dn(self, login: str) -> str:
        return f"uid={dn.escape_rdn(login)},{self.people_dn}"

    def group_dn(self, cn: str) -> str:
        return f"cn={dn.escape_rdn(cn)},{self.groups_dn}"


def person_attrs(person: Person, login: str) -> dict[str, tuple[str, ...]]:
    """The attributes of a person's entry (objectClass and uid included)."""
    full = f"{person.first_name} {person.last_name}"
    attrs = {
        "objectClass": PERSON_CLASSES,
        "uid": (login,),
        "cn": (full,),
        "sn": (person.last_name,),
        "givenName": (person.first_name,),
        "displayName": (full,),
        "employeeType": person.roles,
        "provisionerPeselHmac": (person.key,),
        "provisionerSourceKey": person.source_keys,
    }
    if person.email:
        attrs["mail"] = (person.email,)
    return attrs


def class_group(role: str, place: Place) -> str:
    return f"{place.rspo}-{class_slug(place.class_code)}-{ROLE_GROUPS[role]}"


def group_description(cn: str, role: str, place: Place | None) -> str:
    if place is None:
        return f"{ROLE_LABEL[role]} (wszystkie szkoły)"
    return f"{ROLE_LABEL[role]}, klasa {place.class_code}, {place.school}"


def desired_groups(
    people: Iterable[Person], dn_of: Mapping[str, str]
) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Members (DNs) and description of every group people should be in, by cn."""
    members: dict[str, set[str]] = defaultdict(set)
    described: dict[str, str] = {}
    names: dict[tuple[str, Place], str] = {}  # a few thousand classes for 200 000 people
    for person in people:
        member = dn_of[person.key]
        for role in person.roles:
            members[ROLE_GROUPS[role]].add(member)
        for role_place in person.places:
            cn = names.get(role_place)
            if cn is None:
                cn = names[role_place] = class_group(*role_place)
            members[cn].add(member)
    for (role, place), cn in names.items():
        described.setdefault(cn, group_description(cn, role, place))
    for role, cn in ROLE_GROUPS.items():
        if cn in members:
            described[cn] = group_description(cn, role, None)
    return members, described


def group_attrs(cn: str, description: str, members: Iterable[str]) -> dict[str, tuple[str, ...]]:
    return {
        "objectClass": GROUP_CLASSES,
        "cn": (cn,),
        "description": (description,),
        "member": tuple(sorted(members)),
    }
