"""The bearer token of mutating routes, checked before anything else reads the request."""

from __future__ import annotations

import hmac

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
