"""Response headers, CSRF tokens and the keys of the rate limits.

CSRF: a signed double-submit token. The browser holds a random cookie; forms
carry HMAC(key, cookie). A forged cross-site post has the cookie but cannot know
the HMAC, and a cookie planted by a sibling domain is useless without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = {
    # No script at all, no inline style: only our own stylesheet.
    "content-security-policy": "default-src 'self'; script-src 'none'; object-src 'none';"
    " base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",  # the page's URL holds the token
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """ASGI middleware adding ``HEADERS`` (and HSTS on https) to every response."""

    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.extra = [(k.encode(), v.encode()) for k, v in HEADERS.items()]
        if https:
            self.extra.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.extra if k not in names]
            await send(message)

        await self.app(scope, receive, with_headers)


class Keys:
    def __init__(self, secret: bytes | None) -> None:
        # Without a configured key, one per process: fine for a single process.
        self.secret = secret or secrets.token_bytes(32)

    def sign(self, purpose: str, value: str) -> str:
        return hmac.new(self.secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def csrf_token(self, cookie: str) -> str:
        return self.sign("csrf", cookie)

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(self.csrf_token(cookie), token)

    def bucket(self, kind: str, value: str) -> str:
        """A rate-limit key: never the address or identifier itself."""
        return f"{kind}:{self.sign(kind, value)[:40]}"


def new_cookie() -> str:
    return secrets.token_urlsafe(32)


def identifier_key(identifier: str) -> str:
    """The same person typed two ways counts once: digits of a PESEL, a lower-cased address."""
    value = identifier.strip()
    digits = value.replace(" ", "")
    return digits if digits.isdigit() else value.lower()
