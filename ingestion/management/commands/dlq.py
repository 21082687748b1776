from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError

import celeryconfig
from ingestion.queues import QueueSetupError, UnknownQueueError, list_dead_letters, redrive


class Command(BaseCommand):
    help = "Show the dead letters of the Celery queues on SQS, or move them back to their queue."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("list", help="Count and show dead letters (all queues, or one).")
        show.add_argument("queue", nargs="?", help=f"One of: {', '.join(celeryconfig.ALL_QUEUES)}")
        show.add_argument("--limit", type=int, default=20, help="Messages shown per queue (default 20)")
        back = sub.add_parser("redrive", help="Move a queue's dead letters back to the queue.")
        back.add_argument("queue", help=f"One of: {', '.join(celeryconfig.ALL_QUEUES)}")
        back.add_argument("--limit", type=int, default=None, help="At most this many (default: all)")

    def handle(self, *args, action, queue, limit, **options):
        try:
            if action == "list":
                for name in [queue] if queue else celeryconfig.ALL_QUEUES:
                    self._show(list_dead_letters(queue=name, limit=limit))
            else:
                moved = redrive(queue=queue, limit=limit)
                self.stdout.write(f"{queue}: moved {moved} message(s) back from the dead-letter queue")
        except (UnknownQueueError, QueueSetupError, RuntimeError) as exc:
            raise CommandError(str(exc)) from None
        except (BotoCoreError, ClientError) as exc:
            raise CommandError(f"SQS: {exc}") from None

    def _show(self, report):
        self.stdout.write(f"{report.queue}: {report.count} dead letter(s) in {report.dlq_name}")
        for m in report.messages:
            self.stdout.write(
                f"  {m.message_id}  {m.task_name}[{m.task_id}]  args={m.args}  receives={m.receive_count}"
            )
