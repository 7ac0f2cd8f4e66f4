"""``provisioner daemon`` as systemd runs it: a real process, real signals, a real slapd.

Runs are counted from the daemon's JSON log lines, never by sleeping blindly: every wait
polls with a deadline, and every daemon is killed in a ``finally``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import uonet
from test_cli import env_of

from provisioner.core import pesel
from provisioner.demo.data import create_demo_database
from provisioner.demo.run import settings_for

WAIT = 30.0  # seconds any single expected event may take


class DaemonProcess:
    """``python -m provisioner daemon --log-format json`` with its log lines collected."""

    def __init__(self, env: dict, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "provisioner", *args, "daemon", "--log-format", "json"],
            env={**os.environ, **env}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        self.events: list[dict] = []
        self.raw: list[str] = []
        self._cond = threading.Condition()
        self._eof = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            with self._cond:
                self.raw.append(line)
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    self.events.append({"event": "not-json", "msg": line})
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def matching(self, event: str, **fields) -> list[dict]:
        with self._cond:
            return [e for e in self.events if e.get("event") == event
                    and all(e.get(k) == v for k, v in fields.items())]

    def wait_for(self, event: str, count: int = 1, timeout: float = WAIT, **fields) -> dict:
        """The ``count``-th event of this kind (with these fields), waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(found := self.matching(event, **fields)) < count:
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:  # out of time, or the daemon died
                    raise AssertionError(f"no {count}x {event} {fields} in {timeout} s;"
                                         f" log:\n{''.join(self.raw)}")
                self._cond.wait(min(left, 0.5))
            return found[count - 1]

    def tail(self, lines: int = 12) -> str:
        with self._cond:
            return "".join(self.raw[-lines:])

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = WAIT) -> int:
        self.signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def daemon():
    started: list[DaemonProcess] = []

    def start(env: dict, *args: str, ready: bool = True) -> DaemonProcess:
        d = DaemonProcess(env, *args)
        started.append(d)
        if ready:
            d.wait_for("ready")
        return d

    yield start
    for d in started:
        d.kill()


def daemon_env(slapd, tmp_path, source_url: str | None = None, **daemon) -> dict:
    url = source_url or uonet.save(uonet.small(), tmp_path / "u.sqlite")
    env = env_of(settings_for(slapd, tmp_path, url))
    env["PROVISIONER_STATE__LOCK_FILE"] = str(tmp_path / "sync.lock")  # control.sock beside it
    defaults = {"interval": 900, "run_at_start": "false", "retry_min": 0.3, "retry_max": 1}
    for key, value in (defaults | daemon).items():
        env[f"PROVISIONER_DAEMON__{key.upper()}"] = str(value)
    return env


def cli(*args, env, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provisioner", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collect(sink: socket.socket, into: list[str], last: str) -> None:
    """Receive sd_notify datagrams until one contains ``last`` (or the socket times out)."""
    while not any(last in m for m in into):
        try:
            into.append(sink.recv(4096).decode())
        except OSError:
            return


def accounts(slapd) -> list[str]:
    return [line for line in slapd.dump().splitlines() if line.startswith("uid: ")]


def test_scheduled_runs_metrics_and_sd_notify(slapd, tmp_path, daemon):
    port = free_port()
    textfile = tmp_path / "provisioner.prom"
    notify_name = f"@provisioner-test-{secrets.token_hex(6)}"  # abstract namespace
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind("\0" + notify_name[1:])
    sink.settimeout(WAIT)
    messages: list[str] = []
    reader = threading.Thread(target=collect, args=(sink, messages, "STOPPING=1"), daemon=True)
    reader.start()
    try:
        env = daemon_env(slapd, tmp_path, interval=1, metrics_port=port,
                         metrics_textfile=textfile)
        env |= {"NOTIFY_SOCKET": notify_name, "WATCHDOG_USEC": "400000"}
        d = daemon(env)
        first = d.wait_for("run_finished", reason="schedule")
        assert first["outcome"] == "ok" and first["created"] == 4
        second = d.wait_for("run_finished", count=2, reason="schedule")
        assert second["outcome"] == "ok" and second["created"] == 0, "".join(d.raw)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        ok_runs = next(float(line.split()[-1]) for line in body.splitlines()
                       if line.startswith('provisioner_runs_total{outcome="ok"}'))
        assert ok_runs >= 2
        assert 'provisioner_changes_total{kind="created"} 4.0' in body
        assert "provisioner_notice_outbox_size " in body  # 0 or the queued notices
        assert "provisioner_last_success_timestamp_seconds" in body
        assert 'provisioner_runs_total{outcome="ok"}' in textfile.read_text()
        assert d.stop() == 0
        reader.join(WAIT)
    finally:
        sink.close()
    assert any("READY=1" in m for m in messages)
    assert sum("WATCHDOG=1" in m for m in messages) >= 3  # every 0.2 s for over a second
    assert any(m.startswith("STATUS=run 1 ok") for m in messages)
    assert any("STOPPING=1" in m for m in messages)


def test_sigusr1_and_sync_now_each_run_once(slapd, tmp_path, daemon):
    env = daemon_env(slapd, tmp_path)
    d = daemon(env)
    d.signal(signal.SIGUSR1)
    assert d.wait_for("run_finished", reason="SIGUSR1")["created"] == 4
    now = cli("sync", "--now", "--json", env=env)
    assert now.returncode == 0, now.stderr
    result = json.loads(now.stdout)
    assert result["outcome"] == "ok" and result["run"] == 2 and result["reason"] == "socket"
    assert result["summary"]["counts"]["created"] == 0
    text = cli("sync", "--now", env=env)
    assert text.returncode == 0 and text.stdout.startswith("Daemon run 3 ok: 0 created")
    assert len(d.matching("run_finished")) == 3
    assert d.stop() == 0
    alone = cli("sync", "--now", env=env)
    assert alone.returncode == 69 and alone.stderr.count("\n") == 1
    assert "no daemon is running" in alone.stderr
    # no PESEL in any log line (the masked one in summaries is for the admin's terminal)
    assert uonet.JAN not in "".join(d.raw)


def test_a_burst_of_requests_during_a_run_gives_one_more_run(slapd, tmp_path, daemon):
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    create_demo_database(tmp_path / "big.sqlite", pupils=400)
    env = daemon_env(slapd, tmp_path, url)
    d = daemon(env)
    d.signal(signal.SIGUSR1)
    d.wait_for("run_started")
    now = subprocess.Popen([sys.executable, "-m", "provisioner", "sync", "--now", "--json"],
                           env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(20):
            d.signal(signal.SIGUSR1)
            time.sleep(0.01)
        out, _ = now.communicate(timeout=WAIT * 2)
    finally:
        now.kill()
    assert d.matching("run_finished") != [], "the burst must arrive during run 1"
    assert json.loads(out)["run"] == 2  # the socket request joined the one waiting run
    d.wait_for("run_finished", count=2)
    time.sleep(1.0)  # nothing left to run: no third run may start
    assert len(d.matching("run_started")) == 2
    assert [e["outcome"] for e in d.matching("run_finished")] == ["ok", "ok"]
    assert len(d.matching("run_requested", coalesced=True)) >= 1
    assert d.stop() == 0


def test_sighup_applies_a_good_config_and_refuses_a_broken_one(slapd, tmp_path, daemon):
    env = daemon_env(slapd, tmp_path)
    # Both come from the file, so that a reload changes them (the environment would win).
    first_source = env.pop("PROVISIONER_SOURCE__URL")
    env.pop("PROVISIONER_DAEMON__INTERVAL")
    bigger = uonet.small()
    bigger.pupils.append(uonet.pupil(4, 1, pesel.make(dt.date(2015, 4, 12), 14), "Adam", "Nowy", None))
    second_source = uonet.save(bigger, tmp_path / "u2.sqlite")
    config = tmp_path / "provisioner.toml"
    config.write_text(f'[source]\nurl = "{first_source}"\n')
    d = daemon(env, "--config", str(config))
    d.signal(signal.SIGUSR1)
    assert d.wait_for("run_finished")["created"] == 4

    config.write_text(f'[source]\nurl = "{second_source}"\n[daemon]\ninterval = 600\n')
    d.signal(signal.SIGHUP)
    assert d.wait_for("reloaded")["schedule"] == "every 600 s"
    d.signal(signal.SIGUSR1)
    assert d.wait_for("run_finished", count=2)["created"] == 1

    for broken in ('[daemon]\ncron = "every tuesday"\n', "[source\n", '[ldap]\nurll = "x"\n'):
        config.write_text(broken)
        refused = len(d.matching("reload_refused"))
        d.signal(signal.SIGHUP)
        line = d.wait_for("reload_refused", count=refused + 1)
        assert "keeping the old one" in line["msg"]
    d.signal(signal.SIGUSR1)
    third = d.wait_for("run_finished", count=3)
    assert third["outcome"] == "ok" and third["created"] == 0  # still the second source
    assert d.proc.poll() is None
    assert d.stop() == 0


def test_sigterm_during_a_long_run_finishes_it_and_exits_0(slapd, tmp_path, daemon):
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    create_demo_database(tmp_path / "big.sqlite", pupils=1500)
    env = daemon_env(slapd, tmp_path, url)
    d = daemon(env)
    d.signal(signal.SIGUSR1)
    d.wait_for("run_started")
    for _ in range(10):  # signals landing mid-run must not interrupt its LDAP calls
        time.sleep(0.1)
        d.signal(signal.SIGUSR1)  # one waiting run, which SIGTERM then cancels
    d.signal(signal.SIGTERM)
    d.signal(signal.SIGUSR1)  # a request while stopping must not start another run
    assert d.proc.wait(120) == 0, d.tail()
    (done,) = d.matching("run_finished")
    assert done["outcome"] == "ok" and done["created"] > 1500, d.tail()
    assert d.matching("stopped") and len(d.matching("run_started")) == 1
    order = [e["event"] for e in d.events]
    assert order.index("stopping") < order.index("run_finished"), d.tail()
    plan = cli("sync", "--dry-run", "--format", "json", env=env)
    assert plan.returncode == 0, plan.stderr
    counts = json.loads(plan.stdout)["counts"]
    assert counts["created"] == 0 and counts["updated"] == 0
    uids = accounts(slapd)
    assert len(uids) == len(set(uids)) == done["created"]


def test_a_directory_that_is_down_fails_runs_and_a_restarted_one_succeeds(slapd, tmp_path, daemon):
    env = daemon_env(slapd, tmp_path, retry_min=0.3, retry_max=0.6)
    env["PROVISIONER_LDAP__TIMEOUT"] = "3"
    d = daemon(env)
    slapd.terminate()
    slapd.wait()
    try:
        d.signal(signal.SIGUSR1)
        failed = d.wait_for("run_finished", outcome="failed")
        assert failed["exit_code"] == 3 and "cannot reach the directory" in failed["error"]
        d.wait_for("retry_scheduled", count=3)  # retried twice, still down
        delays = [e["delay"] for e in d.matching("retry_scheduled")][:3]
        assert delays == [0.3, 0.6, 0.6]  # doubling, capped at retry_max
    finally:
        slapd.resume()
    ok = d.wait_for("run_finished", outcome="ok")
    assert ok["reason"] == "retry" and ok["created"] == 4
    assert d.proc.poll() is None
    assert d.stop() == 0
