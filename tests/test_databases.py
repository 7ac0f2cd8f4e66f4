"""The source and the state database on SQLite and on a real PostgreSQL: same cases."""

import datetime as dt

import pytest
import sqlalchemy as sa
import uonet
from test_cli import run
from test_sync_e2e import search

from provisioner.adapters import state as state_mod
from provisioner.adapters.state import State
from provisioner.app.run import sync_once
from provisioner.demo import data
from provisioner.demo.run import settings_for
from provisioner.errors import SourceError

T0 = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)


def test_sync_from_the_source_and_journal_in_the_state_database(slapd, tmp_path, database):
    source, journal = database(), database()
    dataset = uonet.small()
    dataset.pupils[2]["pesel"] = None
    data.write(dataset, source)
    settings = settings_for(slapd, tmp_path, source, state={"url": journal})
    first = sync_once(settings, now=T0)
    assert first.applied["person.create"] == 3 and first.status == "ok"
    assert {e["uid"][0] for e in search(slapd, "(objectClass=provisionerAccount)", ["uid"]).values()} \
        == {"jan.nowak", "ola.nowak", "ewa.nowak"}
    dataset.pupils[0]["last_name"] = "Nowak-Lis"
    data.write(dataset, source)
    assert sync_once(settings, now=T0).applied["person.update"] == 1
    with State(journal) as state:
        runs = state.last_runs()
        assert [r["outcome"] for r in runs] == ["ok", "ok"]
        assert [r["action"] for r in state.history("jan.nowak")] == ["create", "update"]
        assert state.rejection_count(runs[0]["id"]) == 1


def test_report_reads_the_source(database):
    source = database()
    dataset = data.generate(40, seed=2)
    data.write(dataset, source)
    out = run("report", "--format", "json", env={"PROVISIONER_SOURCE__URL": source})
    assert out.returncode == 0, out.stderr
    assert "pesel_conflict" in out.stdout and "email_invalid" in out.stdout


def test_missing_source_table_is_one_line(slapd, tmp_path, database):
    source = database()
    data.write(uonet.small(), source)
    with sa.create_engine(source).begin() as conn:
        conn.execute(sa.text("DROP TABLE pupil_guardians"))
    settings = settings_for(slapd, tmp_path, source)
    with pytest.raises(SourceError, match="pupil_guardians") as err:
        sync_once(settings)
    assert "\n" not in str(err.value)


def test_state_schema_is_migrated_not_recreated(database, monkeypatch):
    url = database()
    with State(url) as state:
        run_id = state.start_run(T0)
    added = []

    def v2(conn):
        conn.execute(sa.text("ALTER TABLE runs ADD COLUMN note TEXT"))
        added.append(True)

    monkeypatch.setattr(state_mod, "MIGRATIONS", [*state_mod.MIGRATIONS, v2])
    with State(url) as state:
        assert added == [True]
        assert [r["id"] for r in state.last_runs()] == [run_id]  # the old row survived
        with state.engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version FROM schema_version")).scalar_one()
        assert version == len(state_mod.MIGRATIONS)
    with State(url):
        assert added == [True]  # not applied twice


def test_a_state_database_of_v2_gets_the_outbox_index_by_dn(database):
    url = database()
    with State(url) as state, state.engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_outbox_dn"))  # as v2 made it
        conn.execute(sa.text("UPDATE schema_version SET version = 2"))
    with State(url) as state, state.engine.connect() as conn:
        indexes = sa.inspect(conn).get_indexes("outbox")
        version = conn.execute(sa.text("SELECT version FROM schema_version")).scalar_one()
    assert version == 3 and ["dn"] in [i["column_names"] for i in indexes]


def test_queries_can_point_at_a_deployments_own_views(slapd, tmp_path, database):
    source = database()
    data.write(uonet.small(), source)
    with sa.create_engine(source).begin() as conn:
        conn.execute(sa.text("CREATE VIEW uczniowie AS SELECT * FROM pupils WHERE class_id <> 3"))
    query = ("SELECT id, class_id, pesel, first_name, second_name, last_name, email, left_on,"
             " modified_at FROM uczniowie")
    settings = settings_for(slapd, tmp_path, source, source={"queries": {"pupils": query}})
    outcome = sync_once(settings, now=T0)
    assert outcome.applied["person.create"] == 3  # Łukasz's class is not in the view

    settings.source.queries["pupils"] = "SELECT id, class_id, pesel FROM uczniowie"
    with pytest.raises(SourceError, match="no column first_name, second_name, last_name") as err:
        sync_once(settings, now=T0)
    assert "\n" not in str(err.value)
