from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError

from ingestion.queues import QueueSetupError, ensure_queues


class Command(BaseCommand):
    help = (
        "Create or verify every Celery queue on SQS and its dead-letter queue (redrive policy, "
        "visibility timeout). Idempotent: a second run creates nothing and fixes drifted attributes."
    )

    def handle(self, *args, **options):
        try:
            statuses = ensure_queues()
        except (QueueSetupError, RuntimeError) as exc:
            raise CommandError(str(exc)) from None
        except (BotoCoreError, ClientError) as exc:
            raise CommandError(f"SQS: {exc}") from None
        header = (
            "queue",
            "sqs name",
            "queue",
            "dead-letter",
            "visibility",
            "max receives",
            "messages",
            "dead",
        )
        rows = [
            (
                s.queue,
                s.sqs_name,
                s.action,
                s.dlq_action,
                f"{s.visibility_timeout}s",
                str(s.max_receive_count),
                str(s.messages),
                str(s.dead_letters),
            )
            for s in statuses
        ]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
        for row in (header, *rows):
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
