"""A sync killed half-way, and two syncs at once: real processes, real slapd."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import ldap3
import pytest
from test_cli import env_of, run

from provisioner.adapters.lock import exclusive
from provisioner.adapters.state import State
from provisioner.demo import data
from provisioner.demo.run import settings_for


def count_accounts(slapd):
    conn = ldap3.Connection(ldap3.Server(slapd.host, slapd.port), slapd.root_dn, slapd.root_pw,
                            auto_bind=True)
    conn.search(slapd.suffix, "(objectClass=provisionerAccount)", attributes=["1.1"],
                paged_size=1000)
    n = len(conn.entries)
    cookie = conn.result.get("controls", {}).get("1.2.840.113556.1.4.319", {}).get("value", {})
    while cookie.get("cookie"):
        conn.search(slapd.suffix, "(objectClass=provisionerAccount)", attributes=["1.1"],
                    paged_size=1000, paged_cookie=cookie["cookie"])
        n += len(conn.entries)
        cookie = conn.result["controls"]["1.2.840.113556.1.4.319"]["value"]
    conn.unbind()
    return n


def accounts(slapd):
    """hmac -> uid of every managed account (read as the admin)."""
    conn = ldap3.Connection(ldap3.Server(slapd.host, slapd.port), slapd.root_dn, slapd.root_pw,
                            auto_bind=True)
    found = conn.extend.standard.paged_search(slapd.suffix, "(objectClass=provisionerAccount)",
                                              attributes=["uid", "provisionerPeselHmac"],
                                              paged_size=1000, generator=False)
    pairs = [(e["raw_attributes"]["provisionerPeselHmac"][0].decode(),
              e["raw_attributes"]["uid"][0].decode()) for e in found if e["type"] == "searchResEntry"]
    conn.unbind()
    return pairs


@pytest.fixture
def big(slapd, tmp_path):
    data.create_demo_database(tmp_path / "uonet.sqlite", pupils=1500, seed=3)
    return env_of(settings_for(slapd, tmp_path, f"sqlite:///{tmp_path / 'uonet.sqlite'}"))


def test_sigkill_during_apply_then_rerun_converges(slapd, big):
    plan = json.loads(run("sync", "--dry-run", "--format", "json", env=big).stdout)
    intended = {c["attributes"]["provisionerPeselHmac"][0]: c["attributes"]["uid"][0]
                for c in plan["changes"] if c["kind"] == "person" and c["action"] == "create"}
    victim = subprocess.Popen([sys.executable, "-m", "provisioner", "sync"], env={**os.environ, **big},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while count_accounts(slapd) < 300 and time.monotonic() < deadline:
        assert victim.poll() is None, "the sync finished before it could be killed"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    half = count_accounts(slapd)
    assert 300 <= half < len(intended), "killed mid-apply"

    rerun = run("sync", "--json", env=big)
    assert rerun.returncode == 0, rerun.stderr
    pairs = accounts(slapd)
    assert len(pairs) == len({h for h, _ in pairs}) == len(intended)  # no duplicate account
    assert dict(pairs) == intended                                      # no login reshuffled
    again = json.loads(run("sync", "--dry-run", "--format", "json", env=big).stdout)
    assert again["changes"] == []                                       # groups complete too
    # The killed run queued no notice for what it created; the rerun noticed the crash
    # and queued exactly one for every account with an e-mail.
    with_mail = {c["attributes"]["uid"][0] for c in plan["changes"]
                 if c["kind"] == "person" and c["action"] == "create" and "mail" in c["attributes"]}
    sent = [p.name.split("-", 2)[2].removesuffix(".eml")
            for p in Path(big["PROVISIONER_MAIL__OUTBOX_DIR"]).glob("*.eml")]
    assert sorted(sent) == sorted(with_mail)


def test_second_sync_waits_or_says_one_is_running(slapd, tmp_path):
    import uonet

    settings = settings_for(slapd, tmp_path, uonet.save(uonet.small(), tmp_path / "u.sqlite"))
    env = env_of(settings)
    with exclusive(settings.state.lock_file):
        busy = run("sync", env=env)
        assert busy.returncode == 75 and "another sync is running" in busy.stderr
        assert busy.stderr.strip().count("\n") == 0
        waiting = subprocess.Popen([sys.executable, "-m", "provisioner", "sync", "--wait", "60"],
                                   env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting for the lock
    assert waiting.wait(60) == 0 and "Sync ok" in waiting.stdout.read()


def test_two_concurrent_syncs_do_not_interleave(slapd, big):
    procs = [subprocess.Popen([sys.executable, "-m", "provisioner", "sync", "--wait", "120"],
                              env={**os.environ, **big}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    assert [p.wait(240) for p in procs] == [0, 0], [p.stderr.read() for p in procs]
    with State(big["PROVISIONER_STATE__URL"]) as state:
        first, second = sorted(state.last_runs(2), key=lambda r: r["started_at"])
    assert first["finished_at"] <= second["started_at"]
    assert json.loads(second["counts"])["created"] == 0  # the second found it all done
    pairs = accounts(slapd)
    assert len(pairs) == len({h for h, _ in pairs})
