"""Who is on the other end of a WebSocket: the session cookie (dashboard) or an API token.

A token comes as the `token` query parameter or as a `Sec-WebSocket-Protocol` value
`token.<key>` (browsers cannot set headers on a WebSocket; offer `adology.v1` too, which the
server echoes, and the key never comes back). A token wins over a cookie when both are sent.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token

SUBPROTOCOL = "adology.v1"
TOKEN_SUBPROTOCOL_PREFIX = "token."


def token_from_scope(scope) -> str | None:
    for protocol in scope.get("subprotocols") or []:
        if protocol.startswith(TOKEN_SUBPROTOCOL_PREFIX):
            return protocol[len(TOKEN_SUBPROTOCOL_PREFIX) :]
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


@database_sync_to_async
def user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key[:40]).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenOrSessionAuthMiddleware(BaseMiddleware):
    """Sets scope["user"]; the consumer refuses anonymous users (close code 4401)."""

    async def __call__(self, scope, receive, send):
        key = token_from_scope(scope)
        user = await user_for_token(key) if key else await get_user(scope)
        return await super().__call__({**scope, "user": user}, receive, send)


def WebSocketAuthStack(inner):
    return CookieMiddleware(SessionMiddleware(TokenOrSessionAuthMiddleware(inner)))


class BrowserOriginValidator(OriginValidator):
    """Refuses (HTTP 403) a handshake whose Origin is not an allowed host.

    Unlike channels' validator, a handshake without Origin passes: only browsers send it, and
    the origin check exists to stop other sites' pages from riding on a dashboard session
    cookie. Server-side clients (API tokens) send none.
    """

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def origin_validator(application):
    allowed = list(getattr(settings, "WEBSOCKET_ALLOWED_ORIGINS", None) or settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(application, allowed)


__all__ = ["SUBPROTOCOL", "WebSocketAuthStack", "origin_validator", "token_from_scope"]
