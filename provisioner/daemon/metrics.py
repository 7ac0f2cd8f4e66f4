"""Prometheus metrics of the daemon: on a loopback port and/or in a node_exporter textfile.

A private registry (not the library's global one) so only our series are exported, and
tests can build several daemons' worth in one process.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server, write_to_textfile

from .logs import event

CHANGE_KINDS = ("created", "updated", "enabled", "disabled", "deleted", "groups_changed",
                "ous_created")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter("provisioner_runs", "Sync runs by outcome (ok, partial, withheld,"
                            " failed).", ["outcome"], registry=r)
        self.last_success = Gauge("provisioner_last_success_timestamp_seconds",
                                  "Unix time the last run that applied its plan finished.",
                                  registry=r)
        self.last_duration = Gauge("provisioner_last_run_duration_seconds",
                                   "Wall-clock seconds of the last run.", registry=r)
        self.changes = Counter("provisioner_changes", "Directory changes applied, by kind.",
                               ["kind"], registry=r)
        self.rejected = Gauge("provisioner_rejected_records",
                              "Source records the last completed run rejected.", registry=r)
        self.outbox = Gauge("provisioner_notice_outbox_size",
                            "Notices waiting to be sent (0 while notices are not set up).",
                            registry=r)
        for outcome in ("ok", "partial", "withheld", "failed"):
            self.runs.labels(outcome)  # export zeros, so rate() works from the first scrape
        for kind in CHANGE_KINDS:
            self.changes.labels(kind)
        self._server = None

    def record(self, outcome: str, seconds: float, finished: float, summary: dict | None) -> None:
        self.runs.labels(outcome).inc()
        self.last_duration.set(seconds)
        if summary is None:
            return
        if outcome in ("ok", "partial", "withheld"):
            self.last_success.set(finished)
        for kind, count in summary.get("counts", {}).items():
            if count:
                self.changes.labels(kind).inc(count)
        self.rejected.set(len(summary.get("rejected", ())))

    def serve(self, port: int) -> None:
        """Serve /metrics on 127.0.0.1 only: the numbers are for the local scraper."""
        if port:
            self._server, _ = start_http_server(port, addr="127.0.0.1", registry=self.registry)
            event("metrics_listening", f"metrics on http://127.0.0.1:{port}/metrics", port=port)

    def write(self, path: str) -> None:
        if not path:
            return
        try:
            # write_to_textfile writes a temporary file and renames it: never half a file.
            write_to_textfile(path, self.registry)
        except OSError as exc:
            event("metrics_textfile_failed", f"cannot write {path}: {exc.strerror}",
                  logging.WARNING)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

