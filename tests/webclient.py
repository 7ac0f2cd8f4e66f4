"""A tiny HTTP client with cookies (urllib), enough to fill in the access page's forms."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass


@dataclass
class Page:
    status: int
    headers: dict
    body: str

    @property
    def csrf(self) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', self.body).group(1)

    @property
    def main(self) -> str:
        """The visible content, without the per-visitor CSRF token."""
        return re.sub(r'value="[^"]*"', "", self.body.split("<main>")[1])


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, data: dict | None = None, headers: dict | None = None) -> Page:
        url = path if path.startswith("http") else self.base + path
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as resp:
                return Page(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                            resp.read().decode())
        except urllib.error.HTTPError as err:
            return Page(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read().decode())

    def submit(self, path: str, **fields) -> Page:
        """GET the form first (for the CSRF cookie and token), then POST it."""
        form = self.open(path)
        return self.open(path, {"csrf_token": form.csrf, **fields})
