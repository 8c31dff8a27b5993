"""The access token of ``modelmon ui``: a bearer header, a ``?token=`` query (which sets a cookie so the pages'
own fetches carry it) or that cookie; anything else is 401."""

from __future__ import annotations

import hmac

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

COOKIE = "modelmon_ui_token"


class TokenMiddleware(BaseHTTPMiddleware):
    """Refuses requests without the token; a request that brought it as ``?token=`` gets it as a cookie."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        query = request.query_params.get("token")
        header = request.headers.get("authorization", "")
        bearer = header[len("bearer "):].strip() if header.lower().startswith("bearer ") else None
        cookie = request.cookies.get(COOKIE)
        if not any(self._matches(given) for given in (bearer, query, cookie)):
            return JSONResponse({"error": "missing or wrong access token (Authorization: Bearer <token>, "
                                          "?token=<token> or the cookie it sets)"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        response = await call_next(request)
        if self._matches(query) and not self._matches(cookie):
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        return response

    def _matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())
