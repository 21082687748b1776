from django.core.management.base import BaseCommand

from brands.demo import DEMO_BRANDSPACE, DEMO_PASSWORD, DEMO_USERS, seed_demo


class Command(BaseCommand):
    help = "Create the demo organization, users, brands and brandspace (idempotent)."

    def handle(self, *args, **options):
        organization = seed_demo()
        self.stdout.write(
            f"Demo organization {organization.name!r} (id {organization.pk}), brandspace {DEMO_BRANDSPACE!r}"
        )
        for email, role, _ in DEMO_USERS:
            self.stdout.write(f"  {role:<7} {email}  password: {DEMO_PASSWORD}")
