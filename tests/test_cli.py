"""The ``provisioner`` command as an admin runs it: real process, real slapd, env settings."""

import json
import os
import subprocess
import sys

import uonet

from provisioner.demo.run import environment, settings_for


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "provisioner", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


env_of = environment  # other test modules import it from here


def test_dry_run_prints_the_plan_in_each_format_and_writes_nothing(slapd, tmp_path):
    env = env_of(settings_for(slapd, tmp_path, uonet.save(uonet.small(), tmp_path / "u.sqlite")))
    before = slapd.dump()
    text = run("sync", "--dry-run", env=env)
    assert text.returncode == 0, text.stderr
    assert "+ create person uid=jan.nowak,ou=people,dc=example,dc=org" in text.stdout
    plan = json.loads(run("sync", "--dry-run", "--format", "json", env=env).stdout)
    assert plan["counts"]["created"] == 4
    ldif = run("sync", "--dry-run", "--format", "ldif", env=env).stdout
    assert "dn: uid=ewa.nowak,ou=people,dc=example,dc=org\nchangetype: add" in ldif
    assert slapd.dump() == before


def test_sync_json_summary_counts_and_rejections(slapd, tmp_path):
    data = uonet.small()
    data.pupils[2]["pesel"] = "12345678901"
    env = env_of(settings_for(slapd, tmp_path, uonet.save(data, tmp_path / "u.sqlite")))
    done = run("sync", "--json", env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["counts"]["created"] == 3 and summary["counts"]["groups_changed"] == 6
    (rejected,) = summary["rejected"]
    assert rejected["code"] == "pesel_invalid_checksum" and rejected["pesel"] == "123456*****"
    assert "12345678901" not in done.stdout + done.stderr
    again = json.loads(run("sync", "--json", env=env).stdout)
    assert again["counts"]["created"] == 0


def test_bad_or_missing_settings_give_one_line(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROVISIONER_")}
    missing = subprocess.run([sys.executable, "-m", "provisioner", "sync"], capture_output=True,
                             text=True, env=clean)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "setting ldap" in missing.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[ldap]\nurl = "ldap://127.0.0.1:1"\nbind_dn = "cn=x"\nbase_dn = "dc=x"\n'
                   'bind_password_file = "/nonexistent"\n[identity]\npesel_key_file = "/nope"\n')
    out = subprocess.run([sys.executable, "-m", "provisioner", "--config", str(bad), "sync"],
                         capture_output=True, text=True, env=clean)
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0
    assert "ldap.bind_password_file" in out.stderr and "Traceback" not in out.stderr
    typo = tmp_path / "typo.toml"
    typo.write_text("[ldap]\nurll = 1\n")
    out = run("--config", str(typo), "sync", env={})
    assert out.returncode == 2 and "ldap" in out.stderr and "Traceback" not in out.stderr


def test_unreachable_directory_is_one_line(slapd, tmp_path):
    env = env_of(settings_for(slapd, tmp_path, uonet.save(uonet.small(), tmp_path / "u.sqlite")))
    env["PROVISIONER_LDAP__URL"] = "ldap://127.0.0.1:1"
    env["PROVISIONER_LDAP__TIMEOUT"] = "2"
    out = run("sync", env=env)
    assert out.returncode == 3 and "cannot reach the directory" in out.stderr
    assert out.stderr.strip().count("\n") == 0


def test_status_and_history_read_the_journal(slapd, tmp_path):
    data = uonet.small()
    env = env_of(settings_for(slapd, tmp_path, uonet.save(data, tmp_path / "u.sqlite")))
    assert run("status", env=env).stdout.startswith("No sync has run yet.")
    run("sync", env=env)
    data.pupils[0]["last_name"] = "Nowak-Lis"
    uonet.save(data, tmp_path / "u.sqlite")
    run("sync", env=env)
    status = run("status", env=env)
    assert status.returncode == 0
    lines = status.stdout.splitlines()
    assert lines[0].startswith("#2 ") and " ok " in lines[0] and "updated 1" in lines[0]
    assert lines[1].startswith("#1 ") and "created 4" in lines[1]
    assert "Notices: 0 queued, 3 sent, 0 failed" in status.stdout  # written as .eml files
    history = run("history", "jan.nowak", env=env)
    assert history.returncode == 0
    assert " create" in history.stdout and " update" in history.stdout
    assert "sn: ['Nowak'] -> ['Nowak-Lis']" in history.stdout
    assert run("history", "nobody", env=env).returncode == 1
    as_json = json.loads(run("status", "--json", env=env).stdout)
    assert [r["outcome"] for r in as_json["runs"]] == ["ok", "ok"]
