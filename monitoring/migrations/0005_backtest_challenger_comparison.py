"""The policy lab's backtests and champion-against-challenger comparisons (issue 16)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0008_drift_reference"),
        ("monitoring", "0004_window_fairness"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Backtest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("product", models.CharField(max_length=50)),
                (
                    "policy_version",
                    models.CharField(
                        blank=True,
                        help_text="The new cut-offs' version; blank: the candidate's own policy.",
                        max_length=50,
                    ),
                ),
                ("approve_below", models.FloatField(blank=True, null=True)),
                ("decline_from", models.FloatField(blank=True, null=True)),
                ("period_start", models.DateTimeField()),
                ("period_end", models.DateTimeField(help_text="Exclusive.")),
                (
                    "status",
                    models.CharField(
                        choices=[("running", "Running"), ("done", "Done"), ("failed", "Failed")],
                        db_index=True,
                        default="running",
                        max_length=10,
                    ),
                ),
                ("progress", models.PositiveSmallIntegerField(default=0, help_text="Backtest progress, percent.")),
                ("progress_message", models.CharField(blank=True, max_length=200)),
                (
                    "parameters",
                    models.JSONField(blank=True, default=dict, help_text="Resamples, default definition, as-of date."),
                ),
                ("results", models.JSONField(blank=True, default=dict)),
                ("failure", models.TextField(blank=True)),
                (
                    "started_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="When a worker claimed the backtest; a lease against duplicate deliveries.",
                        null=True,
                    ),
                ),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("attached_at", models.DateTimeField(blank=True, null=True)),
                (
                    "attached_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "candidate",
                    models.ForeignKey(
                        blank=True,
                        help_text="The version replayed; none to replay the stored probabilities under new cut-offs.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="backtests",
                        to="analytics.modelversion",
                    ),
                ),
                (
                    "promotion_request",
                    models.ForeignKey(
                        blank=True,
                        help_text="The promotion request this backtest is attached to, for its second approver.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="backtests",
                        to="analytics.promotionrequest",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("progress__lte", 100)), name="backtest_progress_at_most_100"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("period_end__gt", models.F("period_start"))),
                        name="backtest_period_ends_after_start",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("approve_below__isnull", True), ("decline_from__isnull", True), ("policy_version", "")
                            ),
                            models.Q(
                                ("approve_below__gt", 0),
                                ("approve_below__lte", models.F("decline_from")),
                                ("decline_from__lte", 1),
                                ("policy_version__gt", ""),
                            ),
                            _connector="OR",
                        ),
                        name="backtest_cut_offs_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("candidate__isnull", False), ("approve_below__isnull", False), _connector="OR"
                        ),
                        name="backtest_replays_a_candidate_or_cut_offs",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ChallengerComparison",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("period_start", models.DateTimeField()),
                ("period_end", models.DateTimeField(help_text="Exclusive.")),
                (
                    "status",
                    models.CharField(
                        choices=[("running", "Running"), ("done", "Done"), ("failed", "Failed")],
                        db_index=True,
                        default="running",
                        max_length=10,
                    ),
                ),
                ("progress", models.PositiveSmallIntegerField(default=0, help_text="Comparison progress, percent.")),
                ("progress_message", models.CharField(blank=True, max_length=200)),
                (
                    "parameters",
                    models.JSONField(blank=True, default=dict, help_text="Resamples, default definition, as-of date."),
                ),
                ("results", models.JSONField(blank=True, default=dict)),
                ("failure", models.TextField(blank=True)),
                (
                    "started_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="When a worker claimed the comparison; a lease against duplicate deliveries.",
                        null=True,
                    ),
                ),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "challenger",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="analytics.modelversion"
                    ),
                ),
                (
                    "champion",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="analytics.modelversion"
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("progress__lte", 100)), name="challenger_comparison_progress_at_most_100"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("period_end__gt", models.F("period_start"))),
                        name="challenger_comparison_period_ends_after_start",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("champion", models.F("challenger")), _negated=True),
                        name="challenger_comparison_of_two_versions",
                    ),
                ],
            },
        ),
    ]
