from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from brands.exceptions import DomainError
from brands.services import organization_create


class Command(BaseCommand):
    help = "Create a customer organization and its owner; prints the organization id."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="The owner's email address")
        parser.add_argument("--password", required=True, help="The owner's password")

    def handle(self, *args, name, owner, password, **options):
        try:
            validate_email(owner)
        except ValidationError:
            raise CommandError(f"--owner {owner!r} is not an email address.") from None
        if len(password) < 8:
            raise CommandError("--password must be at least 8 characters.")
        try:
            organization = organization_create(name=name, owner_email=owner, owner_password=password)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(str(organization.pk))
