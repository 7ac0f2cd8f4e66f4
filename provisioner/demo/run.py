"""The demo: a throwaway slapd, a generated UONET database, a sync, its summary."""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import secrets
import tempfile
from pathlib import Path

from ..app import render, report
from ..app.notices import send_outbox
from ..app.run import sync_once, utcnow
from ..app.sync import read_roster
from ..settings import Settings
from . import data


def settings_for(server, workdir: Path, source_url: str, **sections) -> Settings:
    """Settings pointing at a ``ProvisionerSlapd``, with fresh secret files in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    password, key = workdir / "bind-password", workdir / "pesel.key"
    password.write_text(server.service_password)
    if not key.exists():
        key.write_text(secrets.token_hex(32))
    for f in (password, key):
        f.chmod(0o600)
    values = {
        "source": {"url": source_url},
        "ldap": {"url": server.url, "bind_dn": server.service_dn,
                 "bind_password_file": str(password), "base_dn": server.suffix},
        "identity": {"pesel_key_file": str(key)},
        "state": {"url": f"sqlite:///{workdir / 'state.sqlite'}",
                  "lock_file": str(workdir / "sync.lock")},
        "mail": {"outbox_dir": str(workdir / "outbox")},
    }
    for name, overrides in sections.items():
        values.setdefault(name, {}).update(overrides)
    return Settings(**values)


def environment(settings: Settings) -> dict[str, str]:
    """The same settings as ``PROVISIONER_*`` variables, for a ``provisioner`` subprocess
    (the tests and the benchmark run the command as an admin would)."""
    s = settings
    return {"PROVISIONER_SOURCE__URL": s.source.url, "PROVISIONER_LDAP__URL": s.ldap.url,
            "PROVISIONER_LDAP__BIND_DN": s.ldap.bind_dn,
            "PROVISIONER_LDAP__BIND_PASSWORD_FILE": str(s.ldap.bind_password_file),
            "PROVISIONER_LDAP__BASE_DN": s.ldap.base_dn,
            "PROVISIONER_IDENTITY__PESEL_KEY_FILE": str(s.identity.pesel_key_file),
            "PROVISIONER_STATE__URL": s.state.url,
            "PROVISIONER_STATE__LOCK_FILE": str(s.state.lock_file),
            "PROVISIONER_MAIL__OUTBOX_DIR": str(s.mail.outbox_dir)}


def run_demo(pupils: int = 60, keep: bool = False, out=print) -> int:
    from .slapd import ProvisionerSlapd  # needs python-ldap, a test dependency

    with tempfile.TemporaryDirectory(prefix="provisioner-demo-") as tmp, ProvisionerSlapd() as server:
        workdir = Path(tmp)
        dataset = data.create_demo_database(workdir / "uonet.sqlite", pupils=pupils)
        out(f"Demo UONET database: {len(dataset.schools)} schools, {len(dataset.pupils)} pupils,"
            f" {len(dataset.guardians)} guardian rows (one per child, as UONET keeps them),"
            f" {len(dataset.bad)} bad records on purpose.")
        out(f"Throwaway slapd at {server.url}, base {server.suffix}, schema and overlays from ldif/.\n")
        settings = settings_for(server, workdir, f"sqlite:///{workdir / 'uonet.sqlite'}",
                                lifecycle={"max_disable_ratio": 1.0})
        out("== First sync ==")
        outcome = sync_once(settings)
        out(render.summary_text(outcome))
        sent = send_outbox(settings)
        out(f"\nActivation notices: {outcome.queued} queued, {sent.sent} written as .eml files"
            " (no SMTP server configured); the first one:")
        out(first_notice(settings.mail.outbox_dir))
        out("\n== Second sync (nothing changed in UONET, so nothing to do) ==")
        out(render.summary_text(sync_once(settings)).splitlines()[0])
        out("\n== What the secretariat and class teachers should fix (provisioner report) ==")
        problems = report.rows(read_roster(settings, utcnow()).problems)
        text = report.as_text(problems).splitlines()
        out("\n".join(text[:12] + ([f"  … {len(text) - 12} more lines"] if len(text) > 12 else [])))
        out("\nA few accounts as the directory holds them (no PESEL, only its keyed HMAC):")
        for block in sample(server.dump(), 3):
            out(block + "\n")
        if keep:
            out(f"slapd stays up at {server.url} (bind {server.root_dn} / {server.root_pw});"
                " press Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                server.wait()
        return 1 if outcome.partial else 0


def first_notice(folder: Path) -> str:
    """Headers and the plain-text part of the first notice in the outbox folder."""
    files = sorted(Path(folder).glob("*.eml"))
    if not files:
        return "  (none)"
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",)).get_content().strip().splitlines()
    lines = [f"To: {message['To']}", f"Subject: {message['Subject']}", "", *body[:12]]
    return "\n".join("  | " + line for line in lines)


def sample(ldif: str, count: int) -> list[str]:
    blocks = [b for b in ldif.split("\n\n") if "objectClass: provisionerAccount" in b]
    keep = ("dn", "uid", "cn", "mail", "employeeType", "memberOf", "provisionerPeselHmac")
    return ["\n".join(readable(line) for line in b.splitlines() if line.split(":")[0] in keep)
            for b in blocks[:count]]


def readable(line: str) -> str:
    """An LDIF line with a base64 value (any non-ASCII name) shown as text."""
    name, sep, value = line.partition(":: ")
    return f"{name}: {base64.b64decode(value).decode()}" if sep else line
