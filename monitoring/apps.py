from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self) -> None:
        from finai.metrics import scrape_collector_register
        from monitoring.metrics import OpenAlertsCollector

        scrape_collector_register("open_alerts", OpenAlertsCollector())
