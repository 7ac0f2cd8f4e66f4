"""Activation notices end to end: a real slapd, a real SMTP server on loopback, the outbox."""

import datetime as dt
import email
import email.policy

import ldap3
import pytest
import uonet
from smtpbox import Mailbox, link_in, text_of

from provisioner.adapters import outbox
from provisioner.adapters.state import State
from provisioner.app import notices
from provisioner.app.run import sync_once
from provisioner.demo.run import settings_for
from provisioner.errors import ConfigError
from provisioner.settings import Settings, load

BASE = "dc=example,dc=org"


def after_queueing() -> dt.datetime:
    """A little after now: the notices just queued are due by then."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)


@pytest.fixture
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def make(slapd, tmp_path):
    """Settings for the small UONET source and the test slapd, with mail settings."""

    def settings(dataset=None, **mail):
        url = uonet.save(dataset or uonet.small(), tmp_path / "uonet.sqlite")
        return settings_for(slapd, tmp_path, url, mail=mail,
                            web={"base_url": "https://konta.example.org"})

    return settings


def sync_and_queue(settings) -> int:
    """A sync, which queues the notices of its run."""
    return sync_once(settings).queued


def root(slapd):
    return ldap3.Connection(ldap3.Server(slapd.host, slapd.port), slapd.root_dn, slapd.root_pw,
                            auto_bind=True)


def test_new_accounts_with_mail_get_one_polish_notice(make, mailbox):
    settings = make(**mailbox.settings())
    assert sync_and_queue(settings) == 3  # Ola has no e-mail
    report = notices.send_outbox(settings)
    assert (report.sent, report.deferred, report.failed) == (3, 0, 0)
    by_to = {m["To"]: m for m in mailbox.wait(3)}
    assert set(by_to) == {"jan.nowak@uczen.example.pl", "lukasz@example.pl", "ewa.nowak@example.pl"}
    jan = by_to["jan.nowak@uczen.example.pl"]
    assert jan["Subject"] == "Twoje konto szkolne: jan.nowak"
    assert jan["From"] == "Szkoła <konta@szkola.example.org>"
    body = text_of(jan)
    assert "Twój login: jan.nowak" in body and "14 dni" in body and "SPAM" in body
    assert link_in(jan).startswith("https://konta.example.org/password/")
    html = jan.get_body(("html",)).get_content()
    assert 'lang="pl"' in html and "jan.nowak" in html
    assert notices.send_outbox(settings).sent == 0  # sent once
    assert len(mailbox.messages) == 3
    with State(settings.state.url) as state:
        assert notices.outbox_summary(state)["sent"] == 3


def test_mail_appearing_later_notifies_only_never_activated_accounts(make, mailbox, slapd):
    dataset = uonet.small()
    settings = make(dataset, **mailbox.settings())
    sync_and_queue(settings)
    notices.send_outbox(settings)
    conn = root(slapd)
    conn.modify(f"uid=jan.nowak,ou=people,{BASE}",
                {"provisionerActivatedAt": [(ldap3.MODIFY_REPLACE, ["20250901080000Z"])]})
    dataset.pupils[1]["email"] = "ola@example.pl"  # Ola, never activated
    dataset.pupils[0]["email"] = "jan.nowy@example.pl"  # Jan, already activated
    uonet.save(dataset, settings.source.url.removeprefix("sqlite:///"))
    assert sync_and_queue(settings) == 1
    notices.send_outbox(settings)
    assert [m["To"] for m in mailbox.wait(4)[3:]] == ["ola@example.pl"]


def test_smtp_down_then_back_sends_once_later(make, mailbox):
    settings = make(**mailbox.settings(), retry_min=60)
    mailbox.stop()
    sync_and_queue(settings)
    NOW = after_queueing()
    report = notices.send_outbox(settings, NOW)
    assert (report.sent, report.deferred) == (0, 1)  # the batch stops at the first failure
    assert "127.0.0.1" in report.errors[0]
    # 30 s later the first is not due yet; the next one is tried (and deferred) instead.
    assert notices.send_outbox(settings, NOW + dt.timedelta(seconds=30)).deferred == 1
    mailbox.start()
    assert notices.send_outbox(settings, NOW + dt.timedelta(seconds=61)).sent == 2
    assert notices.send_outbox(settings, NOW + dt.timedelta(days=1)).sent == 1
    assert notices.send_outbox(settings, NOW + dt.timedelta(days=2)).sent == 0
    assert len({m["To"] for m in mailbox.wait(3)}) == len(mailbox.messages) == 3


def test_backoff_doubles_and_gives_up_after_max_attempts(make, mailbox):
    dataset = uonet.small()
    dataset.pupils[0]["email"] = dataset.guardians[0]["email"] = None  # Łukasz alone has one
    settings = make(dataset, **mailbox.settings(), retry_min=10, retry_max=15, max_attempts=4)
    mailbox.stop()
    sync_and_queue(settings)
    NOW = after_queueing()
    at = NOW
    for wait in (10, 15, 15):  # doubled, capped at retry_max; the fourth attempt is the last
        notices.send_outbox(settings, at)
        with State(settings.state.url) as state:
            [row] = outbox.rows(state)
            assert outbox.aware(row["next_attempt_at"]) == at + dt.timedelta(seconds=wait)
        at = outbox.aware(row["next_attempt_at"])
    notices.send_outbox(settings, at)
    with State(settings.state.url) as state:
        summary = notices.outbox_summary(state)
    assert summary["failed"] == 1 and "gave up after 4 attempts" in summary["last_failures"][0]["last_error"]


def test_permanent_refusal_is_recorded_and_not_retried(make, mailbox):
    settings = make(**mailbox.settings())
    mailbox.handler.refuse.add("lukasz@example.pl")
    sync_and_queue(settings)
    NOW = after_queueing()
    report = notices.send_outbox(settings)
    assert (report.sent, report.failed) == (2, 1)
    with State(settings.state.url) as state:
        summary = notices.outbox_summary(state)
    assert summary["failed"] == 1
    failure = summary["last_failures"][0]
    assert failure["login"] == "lukasz.zolc" and "550" in failure["last_error"]
    assert notices.send_outbox(settings, NOW + dt.timedelta(days=2)).sent == 0


def test_a_send_interrupted_by_a_crash_is_not_repeated(make, mailbox):
    settings = make(**mailbox.settings())
    sync_and_queue(settings)
    NOW = after_queueing()
    with State(settings.state.url) as state:  # a sender that claimed a row and died
        first = outbox.due(state, NOW)[0]
        outbox.claim(state, first, NOW)
    report = notices.send_outbox(settings, NOW + dt.timedelta(hours=1))
    assert (report.abandoned, report.sent) == (1, 2)
    assert notices.summary(settings)["last_failures"][0]["id"] == first
    assert notices.retry(settings, first, NOW + dt.timedelta(hours=1))  # the admin decides
    assert notices.send_outbox(settings, NOW + dt.timedelta(hours=1)).sent == 1
    assert len(mailbox.wait(3)) == 3


def test_without_smtp_notices_are_written_as_eml_files_in_english(make, tmp_path):
    settings = make(outbox_dir=str(tmp_path / "out"), language="en")
    sync_and_queue(settings)
    assert notices.send_outbox(settings).sent == 3
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert len(files) == 3 and all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["Subject"].startswith("Your school account: ")
    assert "14 days" in text_of(message) and message.get_body(("html",)) is not None


def test_a_deployment_can_override_the_templates(make, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "activation.pl.txt").write_text("Konto {{ login }}\n\nZajrzyj: {{ link }}\n")
    settings = make(outbox_dir=str(tmp_path / "out"), template_dir=str(templates))
    sync_and_queue(settings)
    notices.send_outbox(settings)
    message = email.message_from_bytes(next((tmp_path / "out").glob("*.eml")).read_bytes(),
                                       policy=email.policy.default)
    assert message["Subject"].startswith("Konto ") and "Zajrzyj: https://" in text_of(message)


def test_unencrypted_smtp_only_to_a_loopback_host(monkeypatch):
    assert Settings(mail={"smtp_host": "127.0.0.1", "smtp_tls": "none"}).mail.smtp_tls == "none"
    monkeypatch.setenv("PROVISIONER_MAIL__SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("PROVISIONER_MAIL__SMTP_TLS", "none")
    with pytest.raises(ConfigError, match=r"mail\.smtp_tls \(PROVISIONER_MAIL__SMTP_TLS\).*loopback"):
        load()
