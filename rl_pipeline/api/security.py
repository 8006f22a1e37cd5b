"""The bearer token of mutating routes, checked before anything else reads the request."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Documents the scheme in /docs (the "Authorize" button); the middleware below enforces it.
bearer_scheme = HTTPBearer(auto_error=False, description="RL_PIPELINE_API_TOKEN, when set")


class BearerTokenMiddleware:
    """With a token configured, a mutating request without ``Authorization: Bearer <token>``
    gets 401 before its body is read or validated."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.expected is not None
            and scope["type"] == "http"
            and scope["method"] in MUTATING_METHODS
            and not self._authorised(scope)
        ):
            response = JSONResponse(
                status_code=401,
                content={"detail": "missing or wrong bearer token"},
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        return hmac.compare_digest(given, self.expected or b"")


def host_name(value: str) -> str:
    """The name of a ``Host`` header value without its port ('[::1]:8000' -> '::1')."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def origin_host(origin: str) -> str | None:
    """The host name of an ``Origin`` header ('null' and garbage -> None)."""
    try:
        return urlsplit(origin).hostname
    except ValueError:
        return None


class RequestGuardMiddleware:
    """Checks before a request is read: the ``Host`` header must name an allowed host (400,
    against DNS rebinding), a mutating request sent by a browser must come from an allowed
    origin (403: a page elsewhere cannot post to the token-less API), and a body may not exceed
    ``max_body_bytes`` (413, by its Content-Length or while it streams in)."""

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...], max_body_bytes: int) -> None:
        self.app = app
        self.allowed = frozenset(h.lower() for h in allowed_hosts)
        self.any_host = "*" in self.allowed
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_name(headers.get("host", ""))
        if not self.any_host and host not in self.allowed:
            await _refuse(400, f"Host {host!r} is not served here", scope, receive, send)
            return
        origin = headers.get("origin")
        if (
            origin is not None
            and scope["method"] in MUTATING_METHODS
            and not self.any_host
            and origin_host(origin) not in self.allowed
        ):
            await _refuse(
                403, f"Origin {origin!r} may not change anything here", scope, receive, send
            )
            return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await _refuse(413, self._too_large(), scope, receive, send)
            return
        if "chunked" in headers.get("transfer-encoding", "").lower():
            # No length given: read it here, up to the limit, and hand the app the whole body.
            messages, size = [], 0
            while True:
                message = await receive()
                messages.append(message)
                size += len(message.get("body", b""))
                if size > self.max_body:
                    await _refuse(413, self._too_large(), scope, receive, send)
                    return
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            await self.app(scope, _replay(messages, receive), send)
            return
        await self.app(scope, receive, send)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_body} bytes"


def _replay(messages: list[dict], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> dict:
        return pending.pop(0) if pending else await receive()

    return replay


async def _refuse(status: int, detail: str, scope: Scope, receive: Receive, send: Send) -> None:
    await JSONResponse(status_code=status, content={"detail": detail})(scope, receive, send)
