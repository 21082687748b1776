"""Domain signals -> realtime services, after commit. Thin on purpose (see realtime/services.py).

A failed broadcast is logged and swallowed: telling clients is never worth failing the
pipeline step or the request that made the change.
"""

from __future__ import annotations

import functools
import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from brands.models import Membership, User
from ingestion import signals as ingestion_signals
from realtime import services

logger = logging.getLogger(__name__)


def _never_raises(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            func(*args, **kwargs)
        except Exception:
            logger.exception("realtime broadcast failed", extra={"receiver": func.__name__})

    return wrapper


# --- the pipeline (its signals are already sent after commit) ------------------------------


@receiver(ingestion_signals.run_status_changed, dispatch_uid="realtime.run_status_changed")
@_never_raises
def on_run_status_changed(sender, run, previous, **kwargs):
    services.announce_run_status(run=run, previous=previous)


@receiver(ingestion_signals.run_progress, dispatch_uid="realtime.run_progress")
@_never_raises
def on_run_progress(sender, run, **kwargs):
    services.announce_run_progress(run=run)


@receiver(ingestion_signals.run_committed, dispatch_uid="realtime.run_committed")
@_never_raises
def on_run_committed(sender, run, new_creative_ids, updated_creative_ids, **kwargs):
    services.announce_run_committed(
        run=run, new_creative_ids=new_creative_ids, updated_creative_ids=updated_creative_ids
    )


@receiver(ingestion_signals.analysis_ready, dispatch_uid="realtime.analysis_ready")
@_never_raises
def on_analysis_ready(sender, run, creative_ids, **kwargs):
    services.announce_analysis_ready(run=run, creative_ids=creative_ids)


# --- access: a user who leaves the organization or is deactivated is disconnected ---------------


def _revoke_after_commit(user_id: int) -> None:
    transaction.on_commit(_never_raises(lambda: services.revoke_user(user_id=user_id)))


@receiver(pre_save, sender=Membership, dispatch_uid="realtime.membership_pre_save")
def remember_organization(sender, instance: Membership, **kwargs):
    if instance.pk:
        instance._realtime_previous = (
            Membership.objects.filter(pk=instance.pk).values_list("organization_id", "user_id").first()
        )


@receiver(post_save, sender=Membership, dispatch_uid="realtime.membership_post_save")
def on_membership_saved(sender, instance: Membership, created: bool, **kwargs):
    previous = getattr(instance, "_realtime_previous", None)
    if previous and previous != (instance.organization_id, instance.user_id):
        _revoke_after_commit(previous[1])  # moved to another organization, or re-assigned


@receiver(post_delete, sender=Membership, dispatch_uid="realtime.membership_deleted")
def on_membership_deleted(sender, instance: Membership, **kwargs):
    _revoke_after_commit(instance.user_id)


@receiver(post_save, sender=User, dispatch_uid="realtime.user_saved")
def on_user_saved(sender, instance: User, created: bool, **kwargs):
    if not created and not instance.is_active:
        _revoke_after_commit(instance.pk)


@receiver(post_delete, sender=User, dispatch_uid="realtime.user_deleted")
def on_user_deleted(sender, instance: User, **kwargs):
    _revoke_after_commit(instance.pk)
