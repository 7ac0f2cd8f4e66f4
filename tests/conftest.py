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


# --- databases: SQLite files and a real PostgreSQL ------------------------------


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL for the session (Debian's postgresql package)."""
    from provisioner.demo.postgres import ThrowawayPostgres, find_bindir

    if find_bindir() is None:
        unavailable("PostgreSQL server is not installed (apt-get install postgresql)")
    server = ThrowawayPostgres()
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001 - any start failure is reported the same way
        server.stop()
        unavailable(f"PostgreSQL did not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A factory of fresh, empty database URLs: SQLite files, then a real PostgreSQL."""
    if request.param == "sqlite":
        counter = iter(range(1000))
        return lambda: f"sqlite:///{tmp_path / f'db{next(counter)}.sqlite'}"
    server = request.getfixturevalue("postgres_server")
    return server.new_database
