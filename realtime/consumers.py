"""/ws/: one socket per client, subscribed to brandspaces of the user's organization.

Close codes: 4401 no valid identity, 4403 no organization or access revoked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from realtime import events, selectors
from realtime.auth import SUBPROTOCOL
from realtime.broadcast import brandspace_group, user_group
from realtime.events import EventType

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
ACTIONS = ("subscribe", "unsubscribe")

# Group joins and leaves in flight at once per process. Each holds a connection of the
# layer's Redis pool, which refuses (MaxConnectionsError) instead of waiting when it is
# empty: 1,000 sockets dropping together failed some group_discards, leaving members that
# group_send kept feeding until group_expiry.
GROUP_OPERATIONS_AT_ONCE = 100
_group_gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _group_gate() -> asyncio.Semaphore:
    # One per event loop: an asyncio.Semaphore belongs to the loop that first waits on it.
    loop = asyncio.get_running_loop()
    if loop not in _group_gates:
        _group_gates[loop] = asyncio.Semaphore(GROUP_OPERATIONS_AT_ONCE)
    return _group_gates[loop]


@database_sync_to_async
def _allowed_brandspaces(user) -> set[int] | None:
    user.refresh_from_db(fields=["is_active"])  # the session may name a user deactivated since
    return selectors.brandspace_ids_for_user(user)


@database_sync_to_async
def _snapshots(brandspace_ids: set[int]) -> list[dict]:
    runs = selectors.active_runs_by_brandspace(brandspace_ids)
    return [
        events.envelope(
            EventType.SNAPSHOT,
            brandspace_id=space_id,
            payload=events.snapshot_payload(
                [events.progress_payload(run, role=role) for run, role in runs[space_id]]
            ),
        )
        for space_id in sorted(runs)
    ]


class EventsConsumer(AsyncWebsocketConsumer):
    subscribed: set[int]

    async def connect(self):
        self.subscribed = set()
        self.user = self.scope.get("user")
        protocols = self.scope.get("subprotocols") or []
        subprotocol = SUBPROTOCOL if SUBPROTOCOL in protocols else None
        if self.user is None or not self.user.is_authenticated:
            # Accept, then close: a refused handshake only shows the client "403", a close
            # code says why (4401: authenticate and retry; 4403: don't retry).
            await self.accept(subprotocol)
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        # Join the user's group before reading the membership, so a revocation that commits
        # after our read still reaches this socket.
        await self._join(user_group(self.user.pk))
        allowed = await _allowed_brandspaces(self.user)
        await self.accept(subprotocol)
        if allowed is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self._subscribe(allowed)

    async def disconnect(self, code):
        if self.user is not None and self.user.is_authenticated:
            await self._leave(user_group(self.user.pk))
        for space_id in self.subscribed:
            await self._leave(brandspace_group(space_id))
        self.subscribed = set()

    async def _join(self, group: str) -> None:
        async with _group_gate():
            await self.channel_layer.group_add(group, self.channel_name)

    async def _leave(self, group: str) -> None:
        async with _group_gate():
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _subscribe(self, brandspace_ids: set[int]) -> None:
        # Join first, then read: events sent in between wait in our channel and are handled
        # after the snapshot, so nothing falls between the two.
        for space_id in sorted(brandspace_ids - self.subscribed):
            await self._join(brandspace_group(space_id))
        self.subscribed |= brandspace_ids
        for snapshot in await _snapshots(brandspace_ids):
            await self.send(text_data=events.encode(snapshot))

    async def _error(self, code: str, message: str) -> None:
        event = events.envelope(
            EventType.ERROR, brandspace_id=None, payload=events.error_payload(code, message)
        )
        await self.send(text_data=events.encode(event))

    async def receive(self, text_data=None, bytes_data=None):
        raw = text_data if text_data is not None else bytes_data or b""
        if len(raw) > settings.REALTIME_MAX_CLIENT_MESSAGE_BYTES:
            return await self._error(
                "too_large", f"Messages are limited to {settings.REALTIME_MAX_CLIENT_MESSAGE_BYTES} bytes."
            )
        try:
            message = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return await self._error("invalid_json", "Send a JSON object.")
        if not isinstance(message, dict) or message.get("action") not in ACTIONS:
            return await self._error(
                "unknown_action", 'Use {"action": "subscribe" or "unsubscribe", "brandspace": id}.'
            )
        space_id = message.get("brandspace")
        if not isinstance(space_id, int) or isinstance(space_id, bool):
            return await self._error("invalid_brandspace", "brandspace must be an integer id.")
        if message["action"] == "unsubscribe":
            if space_id in self.subscribed:
                await self._leave(brandspace_group(space_id))
                self.subscribed.discard(space_id)
            return await self._send_ack(EventType.UNSUBSCRIBED, space_id)
        allowed = await _allowed_brandspaces(self.user)
        if allowed is None:
            return await self.close(code=CLOSE_FORBIDDEN)
        if space_id not in allowed:  # another organization's brandspace does not exist for you
            return await self._error("not_found", "Brandspace not found.")
        await self._send_ack(EventType.SUBSCRIBED, space_id)
        await self._subscribe({space_id})

    async def _send_ack(self, event_type: EventType, space_id: int) -> None:
        event = events.envelope(
            event_type, brandspace_id=space_id, payload={"brandspaces": sorted(self.subscribed)}
        )
        await self.send(text_data=events.encode(event))

    # --- channel layer messages ----------------------------------------------------------------

    async def dispatch(self, message):
        # Broadcast events skip channels' dispatch, which runs close_old_connections() in a
        # worker thread before every handler: a thread hop per event per socket, half the
        # server's CPU when one event reaches 1,000 sockets (bench/ws_fanout.py). Forwarding
        # touches no database; every handler that does goes through database_sync_to_async,
        # which closes old connections in its own thread.
        if message["type"] in events.BROADCAST_TYPES:
            return await self._forward(message)
        return await super().dispatch(message)

    async def _forward(self, message: dict) -> None:
        # An unsubscribe can race a message already in our channel: drop it here.
        if message.get("brandspace") in self.subscribed:
            await self.send(text_data=message["text"])

    async def user_revoked(self, message):
        await self.close(code=CLOSE_FORBIDDEN)
