"""Daemon logs on stderr: one event per line, plain for journald or JSON.

No timestamps in plain mode (journald adds them). Under journald (``$JOURNAL_STREAM``)
plain lines carry a ``<N>`` syslog priority prefix so ``journalctl -p`` filters work.
Any 11-digit number is masked on the way out: a PESEL must never reach a log, even via
an error message we did not write.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback

PESEL_LIKE = re.compile(r"(?<!\d)\d{11}(?!\d)")
PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
            logging.CRITICAL: 2}

log = logging.getLogger("provisioner.daemon")


def scrub(text: str) -> str:
    return PESEL_LIKE.sub("*" * 11, text)


class EventFormatter(logging.Formatter):
    """``message key=value ...`` or one JSON object; extra fields come from ``fields=``."""

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.json = fmt == "json"
        self.journald = bool(os.environ.get("JOURNAL_STREAM")) and not self.json

    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "fields", {}))
        event = getattr(record, "event", record.name)
        if record.exc_info:
            fields["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        if self.json:
            line = json.dumps({"level": record.levelname.lower(), "event": event,
                               "msg": record.getMessage(), **fields},
                              ensure_ascii=False, default=str)
        else:
            parts = [record.getMessage()] + [f"{k}={_plain(v)}" for k, v in fields.items()]
            line = " ".join(parts)
            if self.journald:
                line = f"<{PRIORITY.get(record.levelno, 6)}>{line}"
            else:
                line = f"{record.levelname.lower()}: {line}"
        return scrub(line.replace("\n", "\\n"))


def _plain(value) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def setup(fmt: str = "plain") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EventFormatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # APScheduler logs every job at INFO; our own "run requested" lines say the same.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def event(name: str, msg: str, level: int = logging.INFO, exc_info=None, **fields) -> None:
    """Log one event; ``name`` is stable for machines, ``msg`` is for people."""
    log.log(level, msg, exc_info=exc_info, extra={"event": name, "fields": fields})
