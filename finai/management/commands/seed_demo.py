"""Create one demo user per role, so `make demo` can be explored at once."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from finai.roles import Role
from finai.services import audit_event_record


class DemoUser(NamedTuple):
    username: str
    password: str
    role: str
    is_staff: bool
    is_superuser: bool = False


# Two model managers, because the one who requests a promotion cannot approve it (four eyes).
DEMO_USERS = (
    DemoUser("demo_officer", "demo-officer-pass", Role.LOAN_OFFICER, is_staff=False),
    DemoUser("demo_manager", "demo-manager-pass", Role.MODEL_MANAGER, is_staff=True),
    DemoUser("demo_manager_2", "demo-manager-2-pass", Role.MODEL_MANAGER, is_staff=True),
    DemoUser("demo_compliance", "demo-compliance-pass", Role.COMPLIANCE_OFFICER, is_staff=True),
    DemoUser("demo_analyst", "demo-analyst-pass", Role.ANALYST, is_staff=False),
    DemoUser("demo_admin", "demo-admin-pass", Role.ADMIN, is_staff=True, is_superuser=True),
)


class Command(BaseCommand):
    help = "Create (or reset) one demo user per role and print their credentials. Development only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (creates well-known credentials)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to create demo users with well-known passwords while DEBUG is off; "
                "pass --force if this really is a demonstration system."
            )
        created = self._seed()
        width = max(len(user.username) for user in DEMO_USERS)
        pass_width = max(len(user.password) for user in DEMO_USERS)
        self.stdout.write(f"{'username':<{width}}  {'password':<{pass_width}}  role")
        self.stdout.write(f"{'-' * width}  {'-' * pass_width}  {'-' * 18}")
        for user in DEMO_USERS:
            self.stdout.write(f"{user.username:<{width}}  {user.password:<{pass_width}}  {user.role}")
        reset = len(DEMO_USERS) - len(created)
        self.stdout.write(self.style.SUCCESS(f"Demo users ready: {len(created)} created, {reset} reset."))

    @transaction.atomic
    def _seed(self) -> list[str]:
        """Create missing users and reset existing ones, so the printed table is always true."""
        user_model = get_user_model()
        created = []
        for demo in DEMO_USERS:
            user, was_created = user_model.objects.get_or_create(username=demo.username)
            user.set_password(demo.password)
            user.is_staff, user.is_superuser, user.is_active = demo.is_staff, demo.is_superuser, True
            user.save()
            user.groups.set([Group.objects.get_or_create(name=demo.role)[0]])
            if was_created:
                created.append(demo.username)
        audit_event_record(
            action="demo.users_seeded",
            actor_label="seed_demo",
            payload={"usernames": [demo.username for demo in DEMO_USERS], "created": created},
        )
        return created
