"""The one way events leave for WebSocket clients: `broadcast(events)`, called after commit.

Each event (an envelope from realtime.events) goes to its brandspace's group; the JSON text is
encoded once here, not once per socket. Works from sync code anywhere: Celery tasks, services,
on_commit callbacks (it must not be called from inside a running event loop).
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from adology.logging import external_call
from realtime.events import encode

logger = logging.getLogger(__name__)


def brandspace_group(brandspace_id: int) -> str:
    return f"brandspace.{brandspace_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def broadcast(events: list[dict]) -> None:
    """Send events, in this order, to the groups of their brandspaces."""
    if not events:
        return
    layer = get_channel_layer()
    if layer is None:
        logger.warning("no channel layer configured; realtime events dropped", extra={"count": len(events)})
        return
    messages = [
        (
            brandspace_group(event["brandspace"]),
            # The layer message type picks the consumer method (run.progress -> run_progress).
            {"type": event["type"], "brandspace": event["brandspace"], "text": encode(event)},
        )
        for event in events
    ]

    async def send_all():
        for group, message in messages:
            await layer.group_send(group, message)

    with external_call("redis", "channel_layer.group_send", count=len(messages), type=events[0]["type"]):
        async_to_sync(send_all)()


def disconnect_user(user_id: int) -> None:
    """Close every socket of this user (membership removed, user deactivated)."""
    layer = get_channel_layer()
    if layer is None:
        return
    with external_call("redis", "channel_layer.group_send", type="user.revoked", user_id=user_id):
        async_to_sync(layer.group_send)(user_group(user_id), {"type": "user.revoked"})
