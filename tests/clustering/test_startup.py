"""Django must start without importing torch or umap-learn: the clustering engine loads them only to train."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import django
django.setup()
import finai.urls, clustering.admin, clustering.models, clustering.services, clustering.tasks
import clustering.management.commands.cluster_accounts, lending.management.commands.import_berka
from django.urls import get_resolver
get_resolver().url_patterns
print(sorted({"torch", "umap"} & set(sys.modules)))
"""


def test_django_start_up_and_the_clustering_app_do_not_import_torch_or_umap():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "finai.settings.test"}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert completed.stdout.strip().splitlines()[-1] == "[]"
