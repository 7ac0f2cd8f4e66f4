"""The daemon process: signals, schedule, control socket, metrics, sd_notify, one worker.

The main thread only waits for signals (through ``signal.set_wakeup_fd``, so handlers do
no work in signal context) and pings the watchdog; every sync runs on the worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import time

from .. import settings as settings_mod
from ..app import render
from ..app.run import Warm, sync_once
from ..errors import ConfigError, ProvisionerError
from ..settings import Settings
from . import hooks
from .control import ControlServer, socket_path
from .logs import event
from .metrics import Metrics
from .notify import notify, watchdog_interval
from .schedule import Schedule, describe
from .worker import Ticket, Worker, retry_delay

SIGNALS = (signal.SIGUSR1, signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
NEEDS_RESTART = ("control_socket", "metrics_port", "pid_file")


class Daemon:
    def __init__(self, settings: Settings, config_path: str | None) -> None:
        self.settings = settings
        self.config_path = config_path
        self.metrics = Metrics()
        self.worker = Worker(self._run, self._retry_delay)
        self.schedule = Schedule(settings.daemon, self._scheduled)
        self.runs = 0
        self.status = "no run yet"
        self.warm = Warm()  # only the worker thread uses it

    # --- runs (worker thread) ----------------------------------------------------------

    def _retry_delay(self, failures: int) -> float:
        d = self.settings.daemon
        return retry_delay(failures, d.retry_min, d.retry_max)

    def _scheduled(self) -> None:
        self.request("schedule")

    def request(self, reason: str, force: bool = False) -> Ticket:
        ticket, joined = self.worker.request(reason, force)
        event("run_requested", f"run requested by {reason}", reason=reason, force=force,
              coalesced=joined, busy=self.worker.busy)
        return ticket

    def _run(self, reason: str, force: bool) -> dict:
        settings = self.settings  # a reload during the run applies to the next one
        self.runs += 1
        run = self.runs
        event("run_started", f"run {run} started", run=run, reason=reason, force=force)
        notify(f"STATUS=run {run} in progress; last: {self.status}")
        started, summary = time.monotonic(), None
        try:
            outcome = sync_once(settings, force=force, warm=self.warm)
            summary = render.summary_dict(outcome)
            result = {"outcome": outcome.status, "exit_code": outcome.exit_code, "summary": summary}
        except ProvisionerError as exc:
            result = {"outcome": "failed", "exit_code": exc.exit_code, "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a bug must fail one run, not the daemon
            event("run_crashed", f"run {run} crashed", logging.ERROR, exc_info=True)
            result = {"outcome": "failed", "exit_code": 1,
                      "error": f"unexpected {type(exc).__name__}: {exc}"}
        seconds = time.monotonic() - started
        result |= {"run": run, "reason": reason, "seconds": round(seconds, 3)}
        self.metrics.record(result["outcome"], seconds, time.time(), summary)
        hooks.send_outbox(settings)
        self.metrics.outbox.set(hooks.outbox_size(settings))
        self.metrics.write(settings.daemon.metrics_textfile)
        self._report(result)
        return result

    def _report(self, result: dict) -> None:
        run, outcome = result["run"], result["outcome"]
        fields = {"run": run, "outcome": outcome, "reason": result["reason"],
                  "seconds": result["seconds"], "exit_code": result["exit_code"]}
        if "summary" in result:
            s = result["summary"]
            fields |= s["counts"] | {"rejected": len(s["rejected"]), "failed": len(s["failed"]),
                                     "withheld": len(s["withheld"]["changes"])}
            for f in s["failed"]:
                event("change_failed", f"{f['action']} {f['dn']} failed: {f['error']}",
                      logging.WARNING, run=run)
            text = ", ".join(f"{fields[k]} {k}" for k in ("created", "updated", "disabled",
                                                           "deleted", "rejected"))
        else:
            fields["error"] = text = result["error"]
        level = logging.INFO if outcome == "ok" else logging.WARNING
        event("run_finished", f"run {run} {outcome} in {result['seconds']:g} s", level, **fields)
        self.status = f"run {run} {outcome} at {time.strftime('%H:%M:%S')}: {text}"
        notify(f"STATUS={self.status}")

    # --- signals (main thread) ---------------------------------------------------------

    def reload(self) -> None:
        notify("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")
        try:
            new = settings_mod.load(self.config_path)
        except ConfigError as exc:
            event("reload_refused", f"new configuration refused, keeping the old one: {exc}",
                  logging.ERROR)
            notify("READY=1", f"STATUS=config reload refused: {exc}; {self.status}")
            return
        old, self.settings = self.settings, new
        self.schedule.change(new.daemon)
        event("reloaded", "configuration reloaded", schedule=describe(new.daemon))
        for key in NEEDS_RESTART:
            if getattr(old.daemon, key) != getattr(new.daemon, key):
                event("restart_needed", f"daemon.{key} changes only after a restart",
                      logging.WARNING)
        notify("READY=1", f"STATUS={self.status}")

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; 0 when the run in flight finished in time."""
        wake_r, wake_w = socket.socketpair()
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
        for sig in SIGNALS:
            signal.signal(sig, lambda *_: None)  # the wakeup fd carries the signal number
        # Threads started below inherit a mask blocking our signals, so the kernel delivers
        # them to the main thread only: a signal landing in the worker would interrupt a
        # blocking LDAP call (EINTR) and fail the run in flight.
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        d = self.settings.daemon
        control = None
        try:
            self._write_pid(d.pid_file)
            control = ControlServer(socket_path(self.settings), self.request)
            try:
                self.metrics.serve(d.metrics_port)
            except OSError as exc:
                raise ConfigError(f"daemon.metrics_port: cannot listen on 127.0.0.1:"
                                  f"{d.metrics_port}: {exc.strerror}") from exc
            self.worker.start()
            control.start()
            self.schedule.start()
            self.metrics.write(d.metrics_textfile)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)  # pending ones arrive now
            if d.run_at_start:
                self.request("start")
            event("ready", "daemon ready", pid=os.getpid(), schedule=self.schedule.current,
                  socket=str(control.path), metrics_port=d.metrics_port)
            notify("READY=1", f"STATUS=ready; {self.status}", f"MAINPID={os.getpid()}")
            self._loop(wake_r)
            return self._stop(control)
        finally:
            if control is not None:
                control.close()
            self.metrics.close()
            if d.pid_file:
                with contextlib.suppress(OSError):
                    os.unlink(d.pid_file)
            signal.set_wakeup_fd(-1)
            wake_r.close()
            wake_w.close()

    def _loop(self, wake: socket.socket) -> None:
        ping = watchdog_interval()
        next_ping = time.monotonic()
        while True:
            if ping is not None and time.monotonic() >= next_ping:
                notify("WATCHDOG=1")
                next_ping = time.monotonic() + ping
            timeout = None if ping is None else max(next_ping - time.monotonic(), 0)
            ready, _, _ = select.select([wake], [], [], timeout)
            for signum in wake.recv(64) if ready else b"":
                if signum in (signal.SIGTERM, signal.SIGINT):
                    event("stopping", f"{signal.Signals(signum).name}: stopping after the run"
                          " in flight", signal=signal.Signals(signum).name)
                    return
                if signum == signal.SIGHUP:
                    self.reload()
                elif signum == signal.SIGUSR1:
                    self.request("SIGUSR1")

    def _stop(self, control: ControlServer) -> int:
        notify("STOPPING=1", f"STATUS=stopping; {self.status}")
        self.schedule.stop()
        timeout = self.settings.daemon.stop_timeout
        if not self.worker.stop(timeout):
            event("stop_timeout", f"the run in flight did not finish within {timeout:g} s;"
                  " exiting anyway, the next run will converge", logging.ERROR)
            return 1
        control.drain(5.0)  # let `sync --now` clients read the last result
        event("stopped", "daemon stopped", runs=self.runs)
        return 0

    @staticmethod
    def _write_pid(path: str) -> None:
        if path:
            with open(path, "w") as fh:
                fh.write(f"{os.getpid()}\n")
