"""Task names travel in broker messages, so renaming one strands messages in flight:
names are pinned here, and each must route to a queue that is declared."""

import celeryconfig
from adology.celery import app

# name -> queue. Change with care: a rename needs a migration path for queued messages.
EXPECTED_ROUTES = {
    "ingestion.gather": "gather",
    "ingestion.acquire_batch": "acquire",
    "ingestion.commit_run": "commit",
    "ingestion.commit_on_chord_error": "commit",
    "ingestion.ai_phase": "ai",
    "ingestion.schedule_runs": "default",
    "ingestion.reap_runs": "default",
}


def _our_tasks() -> set[str]:
    app.loader.import_default_modules()
    return {name for name in app.tasks if not name.startswith("celery.")}


def _queue_for(name: str) -> str:
    route = app.amqp.router.route({}, name)
    return route["queue"].name


def test_task_names_are_stable():
    assert _our_tasks() - {"adology.ping"} == set(EXPECTED_ROUTES)


def test_every_task_routes_to_a_declared_queue():
    declared = {q.name for q in celeryconfig.task_queues}
    assert {"gather", "acquire", "commit", "ai"} <= declared
    for name in _our_tasks():
        assert _queue_for(name) in declared, name


def test_pipeline_tasks_route_to_their_phase_queue():
    for name, queue in EXPECTED_ROUTES.items():
        assert _queue_for(name) == queue, name
