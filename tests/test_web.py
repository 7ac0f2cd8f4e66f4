"""The access page end to end: real slapd, real SMTP on loopback, the app on a real uvicorn."""

import datetime as dt
import subprocess
import time

import ldap3
import pytest
import uonet
from smtpbox import Mailbox, free_port, link_in
from webclient import Client

from provisioner.adapters import tokens
from provisioner.adapters.state import State
from provisioner.app import notices
from provisioner.app.run import sync_once
from provisioner.demo.run import settings_for
from provisioner.web.server import Background, create_app

BASE = "dc=example,dc=org"
JAN = f"uid=jan.nowak,ou=people,{BASE}"
GOOD = "Zielony rower pod chmurą 7"


class Clock:
    def __init__(self) -> None:
        self.shift = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.shift


@pytest.fixture
def site(slapd, tmp_path):
    """Synced directory, activation notices sent, the web app serving on loopback."""
    box = Mailbox().start()
    port = free_port()
    (tmp_path / "web.key").write_text("k" * 40)
    settings = settings_for(
        slapd, tmp_path, uonet.save(uonet.small(), tmp_path / "uonet.sqlite"),
        mail=box.settings(), web={"base_url": f"http://127.0.0.1:{port}", "min_response": 0.3,
                                  "secret_file": str(tmp_path / "web.key")})
    sync_once(settings)  # queues the activation notices as it writes the accounts
    assert notices.send_outbox(settings).sent == 3
    clock = Clock()
    app = create_app(settings, clock)

    class Site:
        pass

    s = Site()
    s.settings, s.mailbox, s.clock, s.slapd, s.app = settings, box, clock, slapd, app
    with Background(app, port=port) as url:
        s.url = url
        yield s
    box.stop()


def mail_to(site, address):
    return [m for m in site.mailbox.messages if m["To"] == address]


def bind(slapd, dn, password) -> bool:
    conn = ldap3.Connection(ldap3.Server(slapd.host, slapd.port), dn, password)
    ok = conn.bind()
    conn.unbind()
    return ok


def attribute(slapd, dn, name):
    conn = ldap3.Connection(ldap3.Server(slapd.host, slapd.port), slapd.root_dn, slapd.root_pw,
                            auto_bind=True)
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=[name])
    return conn.entries[0][name].values


def settle(site):
    site.app.state.site.requests.idle.wait(10)


def test_activation_link_sets_the_password_and_the_user_can_bind(site):
    link = link_in(mail_to(site, "jan.nowak@uczen.example.pl")[0])
    client = Client(site.url)
    page = client.open(link)
    assert page.status == 200 and "jan.nowak" in page.body and 'autocomplete="new-password"' in page.body
    headers = page.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"
    done = client.open(link, {"csrf_token": page.csrf, "password": GOOD, "confirm": GOOD})
    assert done.status == 200 and "Hasło ustawione" in done.body
    assert bind(site.slapd, JAN, GOOD)
    who = subprocess.run(["ldapwhoami", "-x", "-H", site.slapd.url, "-D", JAN, "-w", GOOD],
                         capture_output=True, text=True, check=True)
    assert who.stdout.strip() == f"dn:{JAN}"
    assert attribute(site.slapd, JAN, "provisionerActivatedAt")
    # The link works once.
    again = client.open(link, {"csrf_token": page.csrf, "password": GOOD + "x", "confirm": GOOD + "x"})
    assert again.status == 410 and "Link jest nieważny" in again.body
    assert bind(site.slapd, JAN, GOOD)


@pytest.mark.parametrize(("password", "message"), [
    ("Krótkie1!", "za krótkie"),
    ("jan.nowak-ma-kota-9", "zawiera login"),
    ("Nowakowie mają kota 9", "imię lub nazwisko"),
    ("qwertyuiop123", "zbyt popularne"),
    ("Polska2024!!", "zbyt popularne"),
])
def test_each_weak_password_rule_is_explained(site, password, message):
    link = link_in(mail_to(site, "jan.nowak@uczen.example.pl")[0])
    page = Client(site.url).submit(link, password=password, confirm=password)
    assert page.status == 400 and message in page.body and 'role="alert"' in page.body
    assert 'aria-invalid="true"' in page.body


def test_a_password_containing_the_pesel_is_refused(site):
    pw = f"mam numer {uonet.JAN} ok"
    page = Client(site.url).submit(link_in(mail_to(site, "jan.nowak@uczen.example.pl")[0]),
                                   password=pw, confirm=pw)
    assert "zawiera numer PESEL" in page.body
    other = f"to nie moj {uonet.OLA} ok"  # another person's PESEL is just digits
    page = Client(site.url).submit(link_in(mail_to(site, "jan.nowak@uczen.example.pl")[0]),
                                   password=other, confirm=other)
    assert page.status == 200 and "Hasło ustawione" in page.body


def test_mismatched_confirmation_and_english(site):
    link = link_in(mail_to(site, "ewa.nowak@example.pl")[0])
    page = Client(site.url).submit(link + "?lang=en", password=GOOD, confirm=GOOD + "!")
    assert page.status == 400 and "The two passwords differ." in page.body and 'lang="en"' in page.body


def test_expired_link_offers_a_new_one_and_reveals_nothing(site):
    link = link_in(mail_to(site, "ewa.nowak@example.pl")[0])
    site.clock.shift = dt.timedelta(days=14, minutes=1)
    page = Client(site.url).open(link)
    unknown = Client(site.url).open(f"{site.url}/password/{'A' * 43}")
    assert page.status == unknown.status == 410
    assert page.main == unknown.main and 'name="identifier"' in page.body and "ewa.nowak" not in page.body


def test_a_token_is_tied_to_its_account(site):
    # Ewa's token sets Ewa's password, whatever login the form claims.
    link = link_in(mail_to(site, "ewa.nowak@example.pl")[0])
    Client(site.url).submit(link, password=GOOD, confirm=GOOD, username="jan.nowak")
    assert bind(site.slapd, f"uid=ewa.nowak,ou=people,{BASE}", GOOD) and not bind(site.slapd, JAN, GOOD)
    # A token whose account key does not match the entry it names is refused.
    with State(site.settings.state.url) as state:
        ewa_key = attribute(site.slapd, f"uid=ewa.nowak,ou=people,{BASE}", "provisionerPeselHmac")[0]
        forged = tokens.issue(state, purpose="access", dn=JAN, login="jan.nowak", account_key=ewa_key,
                              now=site.clock(), lifetime=dt.timedelta(hours=1))
    page = Client(site.url).submit(f"/password/{forged}", password=GOOD, confirm=GOOD)
    assert page.status == 410 and not bind(site.slapd, JAN, GOOD)


def test_a_newer_link_revokes_the_older(site):
    first = link_in(mail_to(site, "jan.nowak@uczen.example.pl")[0])
    Client(site.url).submit("/", identifier=uonet.JAN)
    settle(site)
    second = link_in(mail_to(site, "jan.nowak@uczen.example.pl")[-1])
    assert first != second
    assert Client(site.url).open(first).status == 410 and Client(site.url).open(second).status == 200


def test_access_requests_answer_the_same_whatever_was_entered(site):
    before = len(site.mailbox.messages)
    answers, took = {}, {}
    for name, value in [("pesel", uonet.JAN), ("wrong_pesel", "15230412345"),
                        ("unknown_mail", "nikt@example.pl"),
                        ("mail_not_activated", "ewa.nowak@example.pl"), ("garbage", "???")]:
        started = time.monotonic()
        answers[name] = Client(site.url).submit("/", identifier=value)
        took[name] = time.monotonic() - started
    settle(site)
    assert {a.status for a in answers.values()} == {200}
    assert len({a.main for a in answers.values()}) == 1 and "SPAM" in answers["pesel"].body
    assert all(t >= 0.3 for t in took.values()) and max(took.values()) - min(took.values()) < 0.25
    sent = site.mailbox.wait(before + 1)[before:]
    assert [m["To"] for m in sent] == ["jan.nowak@uczen.example.pl"]  # only the PESEL one
    assert "60 minut" in sent[0].get_body(("plain",)).get_content()


def test_mail_works_only_after_first_activation(site):
    link = link_in(mail_to(site, "lukasz@example.pl")[0])
    Client(site.url).submit(link, password=GOOD, confirm=GOOD)
    before = len(site.mailbox.messages)
    Client(site.url).submit("/", identifier="Lukasz@EXAMPLE.pl")
    settle(site)
    assert [m["To"] for m in site.mailbox.wait(before + 1)[before:]] == ["lukasz@example.pl"]


def test_rate_limit_per_identifier_gives_the_same_answer(site):
    before = len(site.mailbox.messages)
    pages = [Client(site.url).submit("/", identifier=uonet.EWA) for _ in range(5)]
    settle(site)
    time.sleep(0.5)
    assert len({p.main for p in pages}) == 1
    assert len(site.mailbox.messages) - before == 3  # rate_per_identifier


def test_forms_need_the_csrf_token(site):
    page = Client(site.url).open("/", {"identifier": uonet.JAN, "csrf_token": "x"})
    assert page.status == 400 and "Formularz wygasł" in page.body


def test_language_from_the_browser(site):
    page = Client(site.url).open("/", headers={"Accept-Language": "en-GB,en;q=0.9,pl;q=0.5"})
    assert 'lang="en"' in page.body and "PESEL or e-mail address" in page.body
    assert 'lang="pl"' in Client(site.url).open("/").body
