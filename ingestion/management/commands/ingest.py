from django.core.management.base import BaseCommand, CommandError

from brands.exceptions import DomainError
from brands.models import Brandspace
from ingestion.services import run_start


class Command(BaseCommand):
    help = "Start ingestion runs for every brand of a brandspace (or of all brandspaces); prints the run ids."

    def add_arguments(self, parser):
        parser.add_argument("--brandspace", type=int, help="Brandspace id (default: every brandspace)")
        parser.add_argument("--source", action="append", choices=["meta", "google"], help="Repeatable")

    def handle(self, *args, brandspace=None, source=None, **options):
        spaces = Brandspace.objects.prefetch_related(
            "tracked__brand__identities", "primary_brand__identities"
        )
        if brandspace is not None:
            spaces = spaces.filter(pk=brandspace)
            if not spaces.exists():
                raise CommandError(f"No brandspace with id {brandspace}.")
        wanted = set(source or ["meta", "google"])
        seen = set()
        for space in spaces:
            for brand in [space.primary_brand, *(t.brand for t in space.tracked.all())]:
                for identity_source in {i.source for i in brand.identities.all()} & wanted:
                    if (brand.pk, identity_source) in seen:
                        continue
                    seen.add((brand.pk, identity_source))
                    try:
                        run, created = run_start(brand=brand, source=identity_source)
                    except DomainError as exc:
                        raise CommandError(exc.message) from None
                    state = "started" if created else f"already {run.status}"
                    self.stdout.write(f"run {run.pk}: {brand.name} / {identity_source} ({state})")
        if not seen:
            self.stdout.write("No brand with an identity for those sources; nothing started.")
