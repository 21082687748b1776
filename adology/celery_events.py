"""Worker events and remote control over a Redis "events bus", for workers on SQS.

SQS carries task messages and nothing else: no fanout, so no worker events (Flower shows
nothing) and no remote control (no inspect, no revoke). Here they travel over a Redis
"events bus" (setting CELERY_EVENTS_URL, see celeryconfig), whatever the broker:

- `EventsBusConsumer` (setting `worker_consumer`): the worker's Consumer. Its only write
  connection is the one its Events step asks for, so returning a bus connection from
  `connection_for_write` sends every worker and task event to the bus. Its Control step
  listens for remote control commands on the bus instead of the broker.
- `send_task_sent_event`: a receiver of `after_task_publish` that publishes the task-sent event
  to the bus (the stock one goes to the broker). Connected when this module is imported: the
  app module imports it so every process that publishes tasks sends them.
- `bus_app(app)`: a Celery app whose broker is the bus, for clients of remote control:
  `bus_app(app).control.inspect().active()`, `bus_app(app).control.revoke(task_id)`.
  Flower is started the same way: `celery --broker=$CELERY_EVENTS_URL flower`.
"""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery, bootsteps, current_app
from celery.signals import after_task_publish
from celery.utils.collections import AttributeDict
from celery.utils.functional import pass1
from celery.worker import control as worker_control
from celery.worker.consumer import Consumer
from celery.worker.consumer.control import Control
from celery.worker.pidbox import Pidbox
from kombu import Connection
from kombu.utils.encoding import safe_str

from adology.logging import external_call

logger = logging.getLogger(__name__)


def events_url(app: Celery) -> str:
    """The events bus URL, or "" when events and remote control use the broker."""
    return app.conf.get("adology_events_url") or ""


def bus_connection(app: Celery, **kwargs) -> Connection:
    """A new connection to the events bus.

    Built with kombu directly, not `app.connection_for_write(url)`: that would apply the
    broker's transport and transport options (SQS) to the bus's Redis URL.
    """
    return Connection(events_url(app), **kwargs)


_bus_apps: dict[str, Celery] = {}
_bus_apps_lock = threading.Lock()


def bus_app(app: Celery | None = None) -> Celery:
    """A Celery app whose broker is `app`'s events bus: its `control` and `events` reach workers.

    `app.control` itself would publish to the broker, and SQS cannot carry broadcasts.
    """
    app = app or current_app
    url = events_url(app)
    if not url:
        raise RuntimeError("No events bus: set CELERY_EVENTS_URL.")
    with _bus_apps_lock:
        if url not in _bus_apps:
            bus = Celery("adology-events-bus", broker=url, set_as_current=False)
            bus.conf.update(
                # Read and write URLs: Celery would prefer CELERY_BROKER_URL (the SQS broker)
                # from the environment over this app's `broker`.
                broker_read_url=url,
                broker_write_url=url,
                accept_content=app.conf.accept_content,
                task_serializer=app.conf.task_serializer,
                event_serializer=app.conf.event_serializer,
                control_exchange=app.conf.control_exchange,
                event_exchange=app.conf.event_exchange,
                broker_connection_retry_on_startup=True,
            )
            _bus_apps[url] = bus
        return _bus_apps[url]


class BusPidbox(Pidbox):
    """The worker's remote-control mailbox, listening on the events bus.

    The bus connection is registered with the worker's event loop (like the broker's), so
    commands are handled in the worker's main thread, as stock remote control is.
    """

    def __init__(self, c):
        self.c = c
        self.hostname = c.hostname
        self.bus = None
        # The node's mailbox belongs to the bus app, so replies are published to the bus; its
        # handlers act on the real app and consumer (state.app, state.consumer).
        self.node = bus_app(c.app).control.mailbox.Node(
            safe_str(c.hostname),
            handlers=worker_control.Panel.data,
            state=AttributeDict(
                app=c.app,
                hostname=c.hostname,
                consumer=c,
                # As the stock Pidbox with an event loop, which BusControl requires.
                tset=pass1,
            ),
        )
        self._forward_clock = c.app.clock.forward

    def start(self, c):
        self.bus = c.ensure_connected(bus_connection(c.app))
        self.bus.transport.register_with_event_loop(self.bus.connection, c.hub)
        self.node.channel = self.bus.channel()
        self.consumer = self.node.listen(callback=self.on_message)
        self.consumer.on_decode_error = c.on_decode_error
        logger.info("remote control listening on the events bus", extra={"bus": self.bus.as_uri()})

    def stop(self, c):
        super().stop(c)
        if self.bus is not None:
            try:
                self.bus.close()
            except Exception:  # a bus already gone must not stop the worker's shutdown
                logger.warning("events bus close failed", exc_info=True)
            self.bus = None


class BusControl(Control):
    """Remote control over the events bus (replaces the stock Control step)."""

    def __init__(self, c, **kwargs):
        bootsteps.StartStopStep.__init__(self, c, **kwargs)
        self.is_green = False
        self.box = BusPidbox(c)
        self.start = self.box.start
        self.stop = self.box.stop
        self.shutdown = self.box.shutdown

    def include_if(self, c):
        # Needs the worker's event loop to poll the bus; every broker we use (SQS, Redis)
        # runs one. `memory://` does not, and carries remote control itself anyway.
        return bool(c.app.conf.worker_enable_remote_control and c.hub is not None)


_STOCK_CONTROL = "celery.worker.consumer.control:Control"


class EventsBusConsumer(Consumer):
    """The worker's Consumer, sending events and taking remote control over the events bus."""

    class Blueprint(Consumer.Blueprint):
        default_steps = [
            "adology.celery_events:BusControl" if step == _STOCK_CONTROL else step
            for step in Consumer.Blueprint.default_steps
        ]

    def connection_for_write(self, url=None, heartbeat=None):
        # Only the Events step asks the Consumer for a write connection (tasks publish through
        # the app's producer pool), so this moves events, and only events, to the bus.
        return self.ensure_connected(bus_connection(self.app, heartbeat=heartbeat))


# task-sent events ---------------------------------------------------------------------------

_dispatchers: dict[tuple[int, str], object] = {}
_dispatchers_lock = threading.Lock()


def _dispatcher(app: Celery, url: str):
    # One per process (a connection must not cross a fork) and bus; the lock serialises use,
    # since a dispatcher's producer is not thread-safe.
    key = (os.getpid(), url)
    if key not in _dispatchers:
        _dispatchers[key] = app.events.Dispatcher(Connection(url), buffer_while_offline=False)
    return _dispatchers[key]


@after_task_publish.connect
def send_task_sent_event(sender=None, headers=None, body=None, exchange=None, routing_key=None, **kwargs):
    """Publish task-sent for every task published, to the events bus when there is one."""
    app = current_app
    url = events_url(app)
    if not url or not headers or "task" not in headers:
        return
    fields = {
        "uuid": headers.get("id"),
        "root_id": headers.get("root_id"),
        "parent_id": headers.get("parent_id"),
        "name": headers.get("task"),
        "args": headers.get("argsrepr"),
        "kwargs": headers.get("kwargsrepr"),
        "retries": headers.get("retries"),
        "eta": headers.get("eta"),
        "expires": headers.get("expires"),
        "queue": routing_key,
        "exchange": exchange,
        "routing_key": routing_key,
    }
    try:
        with _dispatchers_lock, external_call("events-bus", "task-sent", task_id=fields["uuid"]):
            _dispatcher(app, url).send("task-sent", retry=False, **fields)
    except Exception:
        # Monitoring must never fail a publish: the task is already on its queue.
        logger.warning("task-sent event not sent", extra={"task_id": fields["uuid"]}, exc_info=True)
        with _dispatchers_lock:
            _dispatchers.pop((os.getpid(), url), None)
