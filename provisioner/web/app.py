"""The Starlette application: routes, rendering and the request-time rules."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from ..adapters import tokens
from ..adapters.state import State
from ..app import access
from ..app.notices import utcnow
from ..core import password as policy_mod
from ..settings import Settings
from . import i18n, security
from .worker import Requests

HERE = Path(__file__).parent
RULES = (policy_mod.TOO_SHORT, policy_mod.HAS_LOGIN, policy_mod.HAS_NAME, policy_mod.HAS_PESEL,
         policy_mod.COMMON)


class Site:
    """What the routes share: settings, keys, templates, the request worker, the clock."""

    def __init__(self, settings: Settings, clock: Callable[[], dt.datetime]) -> None:
        self.settings, self.clock = settings, clock
        self.keys = security.Keys(settings.web_secret())
        self.https = settings.web.base_url.startswith("https://")
        self.cookie_name = "__Host-csrf" if self.https else "csrf"
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                      autoescape=True, undefined=jinja2.StrictUndefined)
        self.requests = Requests(settings, clock)
        with State(settings.state.url):  # migrate now, not in the first request
            pass

    def page(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        lang = i18n.choose(request, self.settings.web.language)
        cookie = request.cookies.get(self.cookie_name) or security.new_cookie()
        other = "en" if lang == "pl" else "pl"
        html = self.env.get_template(name).render(
            t=i18n.translator(lang), lang=lang, csrf=self.keys.csrf_token(cookie),
            path=request.url.path, other=other, **context)
        response = HTMLResponse(html, status_code=status)
        response.set_cookie(self.cookie_name, cookie, httponly=True, secure=self.https,
                            samesite="strict", path="/")
        return response

    def client(self, request: Request) -> str:
        if self.settings.web.trusted_proxy and (fwd := request.headers.get("x-forwarded-for")):
            return fwd.split(",")[-1].strip()  # the address our own proxy saw
        return request.client.host if request.client else "unknown"

    async def csrf_ok(self, request: Request, form) -> bool:
        return self.keys.csrf_ok(request.cookies.get(self.cookie_name), form.get("csrf_token"))

    def throttled(self, client: str, identifier: str) -> bool:
        web = self.settings.web
        client_key = self.keys.bucket("client", client)
        id_key = self.keys.bucket("id", security.identifier_key(identifier))
        with State(self.settings.state.url) as state:
            hits = tokens.hit(state, [client_key, id_key], self.clock(),
                              dt.timedelta(seconds=web.rate_window))
        return hits[client_key] > web.rate_per_client or hits[id_key] > web.rate_per_identifier


def create_app(settings: Settings, clock: Callable[[], dt.datetime] = utcnow) -> Starlette:
    site = Site(settings, clock)

    async def home(request: Request) -> Response:
        return site.page(request, "access.html", identifier="", error=None)

    async def ask(request: Request) -> Response:
        started = time.monotonic()
        form = await request.form()
        if not await site.csrf_ok(request, form):
            return site.page(request, "access.html", 400, identifier="", error="csrf")
        identifier = str(form.get("identifier", "")).strip()[:254]
        if not identifier:
            return site.page(request, "access.html", 400, identifier="", error="required")
        lang = i18n.choose(request, settings.web.language)
        # Same work whatever was entered: count the hit, hand over, wait out the minimum.
        if not await run_in_threadpool(site.throttled, site.client(request), identifier):
            site.requests.submit(identifier, lang)
        await asyncio.sleep(max(0.0, settings.web.min_response - (time.monotonic() - started)))
        return site.page(request, "sent.html", minutes=round(settings.web.link_minutes))

    async def password(request: Request) -> Response:
        token = request.path_params["token"]
        if request.method == "GET":
            attempt = await run_in_threadpool(access.open_link, settings, token, clock())
            return password_page(request, attempt)
        form = await request.form()
        if not await site.csrf_ok(request, form):
            attempt = await run_in_threadpool(access.open_link, settings, token, clock())
            return password_page(request, attempt, status=400, csrf=True)
        attempt = await run_in_threadpool(
            access.set_password, settings, token, str(form.get("password", "")),
            str(form.get("confirm", "")), clock())
        return password_page(request, attempt)

    def password_page(request: Request, attempt: access.Attempt, status: int = 200,
                      csrf: bool = False) -> Response:
        if not attempt.valid:
            return site.page(request, "invalid.html", 410 if status == 200 else status,
                             identifier="", error=None)
        if attempt.done:
            return site.page(request, "done.html", login=attempt.login)
        failed = bool(attempt.problems or attempt.refusal or csrf)
        return site.page(request, "password.html", 400 if failed else status, login=attempt.login,
                         problems=attempt.problems, refusal=attempt.refusal, csrf_error=csrf,
                         rules=RULES, min=settings.web.password_min_length)

    async def stylesheet(request: Request) -> Response:
        return FileResponse(HERE / "static" / "style.css", media_type="text/css")

    async def not_found(request: Request, exc) -> Response:
        return site.page(request, "message.html", 404, title="not_found", body=None)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        site.requests.start()
        yield
        await run_in_threadpool(site.requests.stop)

    app = Starlette(
        routes=[Route("/", home, methods=["GET"]), Route("/", ask, methods=["POST"]),
                Route("/password/{token}", password, methods=["GET", "POST"]),
                Route("/style.css", stylesheet)],
        exception_handlers={404: not_found},
        lifespan=lifespan, max_body_size=64 * 1024,
    )
    app.state.site = site
    app.add_middleware(security.SecurityHeaders, https=site.https)
    return app
