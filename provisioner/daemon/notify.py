"""The sd_notify protocol by hand: one datagram to ``$NOTIFY_SOCKET``, no libsystemd.

Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op, so the daemon runs the
same from a shell, a container or a unit.
"""

from __future__ import annotations

import os
import socket


def _address() -> str | None:
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return None
    # '@name' is Linux's abstract namespace, spelled with a leading NUL on the wire.
    return "\0" + addr[1:] if addr.startswith("@") else addr


def notify(*assignments: str) -> bool:
    """Send ``READY=1``, ``STATUS=...`` etc. in one datagram; True if it was sent."""
    addr = _address()
    if addr is None:
        return False
    payload = "\n".join(a.replace("\n", " ") for a in assignments).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            # Non-blocking: a receiver that stops reading must never stall a sync.
            sock.setblocking(False)
            sock.connect(addr)
            sock.sendall(payload)
    except OSError:
        return False  # systemd gone or socket not ours: never a reason to stop syncing
    return True


def watchdog_interval() -> float | None:
    """Seconds between ``WATCHDOG=1`` pings: half of ``$WATCHDOG_USEC``, or None if off."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None  # the watchdog is meant for another process (e.g. our parent)
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2 / 1_000_000 if value > 0 else None
