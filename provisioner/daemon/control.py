"""The local control socket: ``provisioner sync --now`` asks the daemon for a run.

Protocol: the client sends one JSON line (``{"op": "run", "force": false}``), the daemon
answers with one JSON line once the run serving that request has finished: ``exit_code``,
``outcome`` and the run summary (or the error of a failed run). The socket is a file
with mode 0660, so only the daemon's user, its group and root can ask for runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import ProvisionerError
from ..settings import Settings
from .worker import Ticket

MAX_REQUEST = 4096


class NoDaemon(ProvisionerError):
    """No daemon answers on the control socket."""

    exit_code = 69  # EX_UNAVAILABLE


def socket_path(settings: Settings) -> Path:
    """The configured socket, or ``control.sock`` beside the lock file (the state directory),
    which the daemon and the CLI agree on without extra configuration."""
    if settings.daemon.control_socket:
        return Path(settings.daemon.control_socket)
    return settings.state.lock_file.parent / "control.sock"


# --- daemon side -------------------------------------------------------------------------

Request = Callable[[str, bool], Ticket]


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: ControlServer = self.server  # type: ignore[assignment]
        with server.active:
            server.clients += 1
        try:
            self._answer(server)
        finally:
            with server.active:
                server.clients -= 1
                server.active.notify_all()

    def _answer(self, server: ControlServer) -> None:
        try:
            message = json.loads(self.rfile.readline(MAX_REQUEST) or b"{}")
        except ValueError:
            message = {}
        if message.get("op") != "run":
            reply = {"outcome": "error", "exit_code": 64, "error": "unknown request"}
        else:
            ticket = server.ask("socket", bool(message.get("force")))
            reply = ticket.wait(None) or {}
        with contextlib.suppress(OSError):  # the client may have given up waiting
            self.wfile.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")


class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True  # a client still waiting must not hold the process at exit

    def __init__(self, path: Path, request: Request) -> None:
        self.ask = request
        self.path = path
        self.active = threading.Condition()
        self.clients = 0  # connections still to be answered
        _claim(path)
        super().__init__(str(path), _Handler)
        os.chmod(path, 0o660)
        self._thread = threading.Thread(target=self.serve_forever, name="control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def drain(self, timeout: float) -> bool:
        """Wait until every client got its answer (the worker has finished their tickets)."""
        with self.active:
            return self.active.wait_for(lambda: self.clients == 0, timeout)

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _claim(path: Path) -> None:
    """Remove a socket left by a crashed daemon; refuse if a live one still answers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise ProvisionerError(f"another daemon is listening on {path}")


# --- client side -------------------------------------------------------------------------


def request_run(settings: Settings, force: bool = False,
                timeout: float | None = None) -> tuple[int, dict]:
    """Ask the running daemon for a run and wait for it: (exit code, summary).

    Raises ``NoDaemon`` when nothing listens on the control socket.
    """
    path = socket_path(settings)
    timeout = settings.daemon.request_timeout if timeout is None else timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NoDaemon(f"no daemon is running (nothing listens on {path});"
                           " start provisioner.service or run `provisioner sync`") from exc
        except PermissionError as exc:
            raise NoDaemon(f"not allowed to use {path}; run as root or the provisioner user") from exc
        sock.sendall(json.dumps({"op": "run", "force": force}).encode() + b"\n")
        try:
            reply = _read_line(sock)
        except TimeoutError as exc:
            raise NoDaemon(f"no answer from the daemon within {timeout:g} s;"
                           " the run goes on, see its log") from exc
    if not reply:
        raise NoDaemon(f"the daemon closed {path} without an answer (stopping?)")
    result = json.loads(reply)
    return int(result.get("exit_code", 1)), result


def _read_line(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    return b"".join(chunks)


def result_text(result: dict) -> str:
    """One line for people: what the run served for ``sync --now`` did."""
    run = f"run {result['run']}" if "run" in result else "run"
    if result.get("outcome") in ("failed", "cancelled", "error"):
        return f"Daemon {run} {result.get('outcome')}: {result.get('error', '')}"
    c = result.get("summary", {}).get("counts", {})
    return (f"Daemon {run} {result.get('outcome')}: {c.get('created', 0)} created,"
            f" {c.get('updated', 0)} updated, {c.get('enabled', 0)} enabled,"
            f" {c.get('disabled', 0)} disabled, {c.get('deleted', 0)} deleted;"
            f" {c.get('groups_changed', 0)} group changes;"
            f" {len(result.get('summary', {}).get('rejected', ()))} rejected records")
