"""Project hygiene: migrations match the models, start-up stays light, apps import in one direction."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[1]
HEAVY_LIBRARIES = frozenset({"tensorflow", "torch", "shap"})
APPS = ("finai", "analytics", "clustering", "lending", "monitoring")

# ARCHITECTURE.md: finai <- analytics, clustering <- lending <- monitoring.
FORBIDDEN_IMPORTS = {
    "finai": {"analytics", "clustering", "lending", "monitoring"},
    "analytics": {"lending", "monitoring"},
    "clustering": {"lending", "monitoring"},
    "lending": {"monitoring"},
}


def _development_environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "finai.settings.base",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
    }


def _imported_modules(importtime_report: str) -> list[str]:
    """Module names from `python -X importtime` lines: `import time: self | cumulative | name`."""
    return [
        line.rsplit("|", 1)[1].strip()
        for line in importtime_report.splitlines()
        if line.startswith("import time:") and not line.rstrip().endswith("imported package")
    ]


def _heavy(modules: list[str]) -> set[str]:
    return {module for module in modules if module.split(".")[0] in HEAVY_LIBRARIES}


@pytest.mark.django_db
def test_migrations_match_the_models() -> None:
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=1)
    except SystemExit as exit_:
        pytest.fail(f"Models have changes without a migration (makemigrations exited {exit_.code}).")


def test_manage_py_check_imports_no_heavy_library(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "manage.py", "check"],
        cwd=ROOT,
        env=_development_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    modules = _imported_modules(result.stderr)
    # Modules loaded by importlib.import_module (apps, the URL conf) get no line of their own, but
    # every import statement inside them does: finai.health shows the URL conf was loaded.
    assert {"django", "finai.celery", "finai.health"} <= set(modules)
    assert _heavy(modules) == set()


def test_a_worker_loading_every_task_module_imports_no_heavy_library(tmp_path: Path) -> None:
    """Task modules import their engines lazily, so a worker starts fast and a scoring worker stays lean."""
    probe = (
        "import sys, django\n"
        "django.setup()\n"
        "from finai.celery import app\n"
        "app.loader.import_default_modules()\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=_development_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    modules = result.stdout.split()
    assert "finai.tasks" in modules
    assert _heavy(modules) == set()


# The engine is plain Python over DataFrames and arrays: no Django, and of the apps only itself and the
# core's two Django-free modules.
ENGINE = "analytics/engine"
ENGINE_MAY_IMPORT = ("analytics.engine", "finai.errors", "finai.protected_attributes")


def _python_files(app: str) -> Iterator[Path]:
    yield from sorted((ROOT / app).rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Absolute module names a file imports, with line numbers; relative imports stay inside the app."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _violations(app: str) -> tuple[int, list[str]]:
    forbidden = FORBIDDEN_IMPORTS[app]
    files, found = 0, []
    for path in _python_files(app):
        files += 1
        for line, module in _imports(path):
            if module.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return files, found


@pytest.mark.parametrize("app", sorted(FORBIDDEN_IMPORTS))
def test_apps_import_only_in_the_direction_the_architecture_allows(app: str) -> None:
    files, violations = _violations(app)

    assert files > 0
    assert violations == [], f"{app} may not import {sorted(FORBIDDEN_IMPORTS[app])}"


def _engine_violation(module: str) -> bool:
    if module.split(".")[0] == "django":
        return True
    if module.split(".")[0] not in APPS:
        return False
    return not any(module == allowed or module.startswith(allowed + ".") for allowed in ENGINE_MAY_IMPORT)


def test_the_engine_imports_no_django_and_no_app_but_itself() -> None:
    files, violations = 0, []
    for path in _python_files(ENGINE):
        files += 1
        violations += [
            f"{path.relative_to(ROOT)}:{line} imports {module}"
            for line, module in _imports(path)
            if _engine_violation(module)
        ]

    assert files > 20
    assert violations == []


def test_the_engine_rule_refuses_the_orm_and_app_records() -> None:
    assert _engine_violation("django.db.models")
    assert _engine_violation("analytics.models")
    assert _engine_violation("lending.services.decisions")
    assert _engine_violation("finai.services")
    assert not _engine_violation("analytics.engine.fairness.report")
    assert not _engine_violation("finai.errors")
    assert not _engine_violation("numpy")


def test_the_import_scan_sees_imports_in_every_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import lending\n"
        "import monitoring.alerts as alerts\n"
        "from lending.models import Applicant\n"
        "from . import local\n"
        "def later():\n"
        "    from analytics import registry\n"
    )

    assert [module for _, module in _imports(sample)] == [
        "lending",
        "monitoring.alerts",
        "lending.models",
        "analytics",
    ]
