"""ASGI entry point: HTTP to Django; WebSocket through the origin check and authentication
(session cookie or API token) to realtime's routing."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adology.settings.local")
django_application = get_asgi_application()  # sets Django up before the imports below

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from realtime.auth import WebSocketAuthStack, origin_validator  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": origin_validator(WebSocketAuthStack(URLRouter(websocket_urlpatterns))),
    }
)
