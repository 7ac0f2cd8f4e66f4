"""``provisioner web``: the self-service access page."""

from __future__ import annotations

from .. import settings as settings_mod


def register(verbs) -> None:
    p = verbs.add_parser("web", help="serve the self-service access page")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1;"
                   " put a TLS reverse proxy in front)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..web.server import serve  # the web stack loads only for this verb

    settings = settings_mod.load(args.config).check("ldap", "identity")
    settings.pesel_key()  # a missing key is one line now, not an error per request
    serve(settings, args.host, args.port)
    return 0
