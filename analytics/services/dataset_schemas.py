"""Where a data set's schema is found: a path, an upload, the record of its last import, or `data/schemas/`.

A lender's schema need not live in the repository: given by path or uploaded, it is recorded when its
data set is imported, stored again with every snapshot taken under it, and every later step (training
on a worker, scoring, audits) reads a stored copy, never a file that may have moved or changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from analytics.engine.dataset_schema import SCHEMA_DIR, DatasetSchema, SchemaError, schema_from_dict, schema_load
from analytics.models import DatasetSchemaRecord
from finai.errors import ApplicationError
from finai.services import audit_event_record

MAX_SCHEMA_BYTES = 256 * 1024


def _refused(where: str, problems: list[str]) -> ApplicationError:
    return ApplicationError(
        f"The dataset schema {where} cannot be used: {len(problems)} problems.",
        details={f"schema, {index}": problem for index, problem in enumerate(problems, start=1)},
        code="invalid_schema",
    )


def dataset_schema_parse(*, text: str, origin: str) -> DatasetSchema:
    """A schema from YAML text (an uploaded file), every problem named."""
    if len(text.encode("utf-8")) > MAX_SCHEMA_BYTES:
        raise _refused(origin, [f"the file is larger than {MAX_SCHEMA_BYTES // 1024} KiB"])
    try:
        return schema_from_dict(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise _refused(origin, [f"it is not valid YAML: {exc}"]) from exc
    except SchemaError as exc:
        raise _refused(origin, exc.problems) from exc


def dataset_schema_get(name_or_path: str | Path) -> DatasetSchema:
    """The schema a command or form names: a YAML file by path, else a data set by name (the schema of its
    last import, else the one in `data/schemas/`)."""
    text = str(name_or_path)
    if Path(text).suffix in (".yaml", ".yml") or "/" in text:
        try:
            return schema_load(Path(text))
        except SchemaError as exc:
            raise _refused(text, exc.problems) from exc
    record = DatasetSchemaRecord.objects.filter(name=text).first()
    if record is not None:
        return record.dataset_schema
    if (SCHEMA_DIR / f"{text}.yaml").is_file():
        return schema_load(text)
    known = ", ".join(schema.name for schema in dataset_schemas_known()) or "none yet"
    raise ApplicationError(
        f"No data set is called {text!r}.",
        details={"dataset": f"give a schema file's path, or one of: {known}"},
        code="not_found",
    )


def dataset_schemas_known() -> list[DatasetSchema]:
    """Every data set FinAI knows, by name: the recorded imports, and the schema files no import replaced."""
    found = {record.name: record.dataset_schema for record in DatasetSchemaRecord.objects.all()}
    for path in sorted(SCHEMA_DIR.glob("*.yaml")):
        schema = schema_load(path)
        found.setdefault(schema.name, schema)
    return [found[name] for name in sorted(found)]


def dataset_schema_record(*, schema: DatasetSchema, origin: str, actor: Any = None) -> DatasetSchemaRecord:
    """Record the schema a data set is imported under (audited when it is new or changed)."""
    record = DatasetSchemaRecord.objects.filter(name=schema.name).first()
    if record is not None and record.schema_sha256 == schema.sha256:
        return record
    record, _ = DatasetSchemaRecord.objects.update_or_create(
        name=schema.name,
        defaults={
            "kind": schema.kind,
            "product": schema.product,
            "schema": schema.as_dict(),
            "schema_sha256": schema.sha256,
            "origin": origin[:300],
            "recorded_by": actor,
        },
    )
    audit_event_record(
        action="dataset.schema_recorded",
        actor=actor,
        object_type="dataset",
        object_id=schema.name,
        payload={"dataset": schema.name, "product": schema.product, "sha256": schema.sha256, "origin": origin},
    )
    return record
