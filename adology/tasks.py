"""Tasks that belong to no app."""

from celery import shared_task


@shared_task(bind=True, name="adology.ping")
def ping(self) -> str:
    """Health check: answers with the hostname of the worker that ran it.

    Routed to the "default" queue, so a result proves a worker consumes that queue and the
    result backend works: `adology.tasks.ping.delay().get(timeout=10)`.
    """
    return self.request.hostname
