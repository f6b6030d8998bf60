"""Scrape /metrics as an operator's Prometheus would and read the samples back through prometheus-client's parser."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

SCRAPER_TOKEN = "scraper-token-for-tests-0123456789"


@dataclass(frozen=True)
class Scrape:
    families: dict[str, str]  # family name -> type
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 when the series is absent, so a test can compare before and after."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def label_values(self, label: str) -> set[str]:
        return {value for _, labels in self.samples for key, value in labels if key == label}


def scrape(client: Client) -> Scrape:
    with override_settings(METRICS_TOKEN=SCRAPER_TOKEN):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPER_TOKEN}")
    assert response.status_code == 200, response.content[:500]
    families, samples = {}, {}
    for family in text_string_to_metric_families(response.content.decode()):
        families[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Scrape(families, samples)
