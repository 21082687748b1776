"""Realtime (Django Channels) settings, imported by base/local/test/production.

Kept in one module so the WebSocket layer's knobs sit together; each mode calls
`channel_layers(REDIS_URL)` once it knows where its Redis is.
"""

from __future__ import annotations

import environ

env = environ.Env()

# Browsers send Origin on WebSocket handshakes; only these hosts may open /ws/ from a page.
# Empty means "the same as ALLOWED_HOSTS" (channels' AllowedHostsOriginValidator).
WEBSOCKET_ALLOWED_ORIGINS: list[str] = env.list("WEBSOCKET_ALLOWED_ORIGINS", default=[])

# At most one run.progress per run per interval (a trailing event carries the last state).
REALTIME_PROGRESS_INTERVAL_SECONDS: float = env.float("REALTIME_PROGRESS_INTERVAL_SECONDS", default=0.25)

# Client frames longer than this are refused with an error message (the socket stays up).
REALTIME_MAX_CLIENT_MESSAGE_BYTES: int = env.int("REALTIME_MAX_CLIENT_MESSAGE_BYTES", default=4096)

# Which channels_redis layer: "pubsub" (RedisPubSubChannelLayer, chosen by bench/ws_fanout.py)
# or "core" (RedisChannelLayer).
REALTIME_CHANNEL_LAYER: str = env("REALTIME_CHANNEL_LAYER", default="pubsub")

# Namespace of the channel layer's keys and of realtime's own Redis keys (throttle, locks), so
# several deployments or test sessions can share one Redis database.
CHANNEL_LAYER_PREFIX: str = env("CHANNEL_LAYER_PREFIX", default="asgi")

_LAYER_BACKENDS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}


def channel_layers(redis_url: str, *, kind: str | None = None) -> dict:
    """CHANNEL_LAYERS for a Redis URL (in-memory when there is none, i.e. one process only)."""
    if not redis_url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    kind = kind or REALTIME_CHANNEL_LAYER
    # redis-py >= 6 reads with a 5 s socket timeout by default: exactly RedisChannelLayer's 5 s
    # blocking pop, so an idle socket's receive raised TimeoutError and killed its consumer.
    # And its pools refuse (MaxConnectionsError) beyond 100 connections instead of waiting: a
    # burst of handshakes (group_add each) needs more.
    host = {"address": redis_url, "socket_timeout": 30, "max_connections": 1000}
    config: dict = {"hosts": [host], "prefix": CHANNEL_LAYER_PREFIX}
    if kind == "core":
        # Fan-out to 1,000 sockets of a brandspace: a bigger per-channel buffer and the
        # group-expiry default; messages older than `expiry` are dropped, not queued forever.
        config.update({"capacity": 1500, "expiry": 60, "group_expiry": 86400})
    return {"default": {"BACKEND": _LAYER_BACKENDS[kind], "CONFIG": config}}
