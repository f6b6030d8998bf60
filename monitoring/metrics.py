"""Open alerts for operators' scrapers: `finai_alerts_open` by rule, counted in the database at scrape time.

A gauge read from the table, not a counter kept by the services, because acknowledging or resolving an alert
may happen in any process (a page, a worker, the admin) and the table is the one place that is always right.
The model is looked up by name, so the endpoint keeps working on a database that predates it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.apps import apps
from django.db.models import Count
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

logger = logging.getLogger(__name__)

# An acknowledged alert is still a breach someone is working: both count as open.
OPEN_STATUSES = ("open", "acknowledged")


class OpenAlertsCollector:
    """One sample per rule (zero included, so an alerting rule on the series never sees it vanish)."""

    def collect(self) -> Iterator[Metric]:
        try:
            alert_model = apps.get_model("monitoring", "Alert")
        except LookupError:
            return
        try:
            counts = dict(
                alert_model.objects.filter(status__in=OPEN_STATUSES)
                .values("rule")
                .annotate(count=Count("pk"))
                .order_by()
                .values_list("rule", "count")
            )
        except Exception:  # a scrape never fails: the metric is left out and the reason logged
            logger.warning("Metrics: open alerts could not be counted.", exc_info=True)
            return
        rules = [value for value, _ in alert_model._meta.get_field("rule").choices or ()]
        family = GaugeMetricFamily("finai_alerts_open", "Alerts open or acknowledged, by rule.", labels=["rule"])
        for rule in sorted({*rules, *counts}):
            family.add_metric([rule], counts.get(rule, 0))
        yield family
