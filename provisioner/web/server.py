"""Serving the app with uvicorn, in the foreground (the CLI) or in a thread (the tests)."""

from __future__ import annotations

import threading
import time

import uvicorn

from ..settings import Settings
from .app import create_app, utcnow

# No access log: the password page's URL carries the token.
LOG = {"log_level": "warning", "access_log": False, "server_header": False}


def serve(settings: Settings, host: str, port: int) -> None:
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=False, **LOG)


class Background:
    """The app on a real uvicorn in a thread: ``with Background(app) as url: ...``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **LOG))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


__all__ = ["Background", "create_app", "serve", "utcnow"]
