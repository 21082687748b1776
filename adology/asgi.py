"""ASGI entry point. HTTP goes to Django; WebSocket routing arrives with realtime/."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adology.settings.local")
application = get_asgi_application()
