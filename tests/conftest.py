"""Shared pytest fixtures."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from provisioner.demo.slapd import ProvisionerSlapd

SLAPD_TOOLS = ("ldapadd", "ldapmodify", "ldapsearch", "ldapwhoami", "slapadd")


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose prerequisites are missing, but never under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


# --- real slapd -------------------------------------------------------------


@pytest.fixture(scope="session")
def slapd_server() -> Iterator[ProvisionerSlapd]:
    """One throwaway slapd for the whole session, loaded with ldif/."""
    if not os.path.exists("/usr/sbin/slapd"):
        unavailable("/usr/sbin/slapd is not installed")
    missing = [tool for tool in SLAPD_TOOLS if shutil.which(tool) is None]
    if missing:
        unavailable(f"OpenLDAP tools missing: {', '.join(missing)}")
    try:
        from provisioner.demo.slapd import ProvisionerSlapd
    except ImportError as exc:  # python-ldap (slapdtest) not installed
        unavailable(f"slapdtest unavailable: {exc}")
    with ProvisionerSlapd() as server:
        yield server


@pytest.fixture
def slapd(slapd_server: ProvisionerSlapd) -> ProvisionerSlapd:
    """The session slapd, emptied of everything but the base and service account."""
    slapd_server.reset()
    return slapd_server
