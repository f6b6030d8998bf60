"""Statements written once, for the few that every synchronous decision runs.

The ORM builds each statement's SQL anew on every call: a few hundred microseconds of Python per statement, which
issue 19's profile found to be most of a decision's time once the database work was down to a handful of
statements. The statements here are written once from the models' own metadata, and their rows become model
instances the ORM's way (the back-end's converters, then `Model.from_db`) and their values are prepared the ORM's
way (`Field.get_db_prep_save`), so what they read and write is what the ORM would. Tests hold each use equal to
its ORM form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, models

Converter = Callable[[Any, Any, Any], Any]


def quoted_columns(model: type[models.Model]) -> str:
    """The model's columns, table-qualified, in field order: a SELECT list `model_from_row` reads back."""
    quote, table = connection.ops.quote_name, model._meta.db_table
    return ", ".join(f"{quote(table)}.{quote(field.column)}" for field in model._meta.concrete_fields)


@cache
def _row_converters(model: type[models.Model], vendor: str) -> tuple[tuple[int, Converter, Any], ...]:
    """(position, converter, column) for each column that needs converting, as SQLCompiler.apply_converters does."""
    found = []
    for position, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
            found.append((position, converter, column))
    return tuple(found)


def model_from_row(model: type[models.Model], row: Sequence[Any]) -> models.Model:
    """An instance from a row of `quoted_columns(model)`, as if the ORM had loaded it."""
    values = list(row)
    for position, converter, column in _row_converters(model, connection.vendor):
        values[position] = converter(values[position], column, connection)
    return model.from_db(DEFAULT_DB_ALIAS, _attnames(model), values)


@cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def instance_by(model: type[models.Model], column: str, value: Any) -> models.Model | None:
    """`model.objects.filter(<column>=value).first()` for a column that is unique, or None."""
    with connection.cursor() as cursor:
        cursor.execute(_select_by(model, column), [value])
        row = cursor.fetchone()
    return None if row is None else model_from_row(model, row)


@cache
def _select_by(model: type[models.Model], column: str) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    # Names from the model's metadata; the value is a parameter.
    return f"SELECT {quoted_columns(model)} FROM {table} WHERE {connection.ops.quote_name(column)} = %s"  # noqa: S608


Statement = tuple[str, Sequence[Any]]  # sql with %s placeholders, and its parameters


def instances_insert(instances: Sequence[models.Model], *, preceded_by: Sequence[Statement] = ()) -> None:
    """INSERT unsaved instances of one model and give each its primary key, like `bulk_create` on a back-end
    that returns rows (Postgres, SQLite 3.35+) without building the statement through the ORM: one statement
    (more only past the back-end's limit on parameters), `auto_now` and `auto_now_add` fields set as `save()`
    sets them, and no signals sent, as with `bulk_create` (FinAI listens to none for the models inserted so).

    `preceded_by` run just before, in the same round trip on Postgres (its driver sends several statements at
    once), one by one elsewhere: each round trip is a tenth of a millisecond of a decision."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            for sql, params in preceded_by:
                cursor.execute(sql, params)
        preceded_by = ()
    model = type(instances[0])
    per_statement = connection.ops.bulk_batch_size(_inserted_fields(model), instances) or len(instances)
    for start in range(0, len(instances), per_statement):
        part = instances[start : start + per_statement]
        statements = [*preceded_by, insert_statement(part)]  # the earlier statements go with the first part
        preceded_by = ()
        with connection.cursor() as cursor:
            cursor.execute(
                "; ".join(sql for sql, _ in statements), [value for _, params in statements for value in params]
            )
            keys = [key for (key,) in cursor.fetchall()]
        for instance, key in zip(part, keys, strict=True):
            _stored(instance, key)


def instances_insert_linked(parent: models.Model, child: models.Model, *, link: str) -> None:
    """INSERT an unsaved instance and an unsaved one that refers to it (`child.<link>` is `parent`), giving both
    their keys: on Postgres in one statement (the child's INSERT reads the parent's key from a data-modifying
    CTE), elsewhere one after the other. As `instances_insert` for each, otherwise."""
    field = type(child)._meta.get_field(link)
    if connection.vendor != "postgresql":
        instances_insert([parent])
        setattr(child, link, parent)
        instances_insert([child])
        return
    parent_sql, parent_params = insert_statement([parent])
    fields = _inserted_fields(type(child))
    params = _prepared_values(child, [other for other in fields if other is not field])
    with connection.cursor() as cursor:
        cursor.execute(_linked_insert_sql(type(parent), type(child), field.name, parent_sql), [*parent_params, *params])
        child_key, parent_key = cursor.fetchone()
    _stored(parent, parent_key)
    _stored(child, child_key)
    setattr(child, link, parent)  # the key now, and the instance kept as the child's related object


@lru_cache(maxsize=16)
def _linked_insert_sql(parent: type[models.Model], child: type[models.Model], link: str, parent_sql: str) -> str:
    quote = connection.ops.quote_name
    field = child._meta.get_field(link)
    fields = _inserted_fields(child)
    parent_key = f"(SELECT {quote(parent._meta.pk.column)} FROM inserted_parent)"  # noqa: S608 - a model's column
    values = ", ".join(parent_key if other is field else "%s" for other in fields)
    columns = ", ".join(quote(other.column) for other in fields)
    # Names from the models' metadata; every value is a parameter.
    return (
        f"WITH inserted_parent AS ({parent_sql}) INSERT INTO {quote(child._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({values}) RETURNING {quote(child._meta.pk.column)}, {quote(field.column)}"
    )


def insert_statement(instances: Sequence[models.Model]) -> Statement:
    """The INSERT of unsaved instances of one model (returning their keys), for `instances_insert` or to send
    before another insert in one round trip (`preceded_by`), when nothing needs the keys back."""
    model = type(instances[0])
    fields = _inserted_fields(model)
    return _insert_sql(model, len(instances)), [
        value for instance in instances for value in _prepared_values(instance, fields)
    ]


def _prepared_values(instance: models.Model, fields: Sequence[models.Field]) -> list[Any]:
    """The instance's values for an INSERT, as `save()` prepares them (`auto_now` set, then the back-end's form)."""
    return [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]


def _stored(instance: models.Model, key: Any) -> None:
    """Mark an inserted instance as the ORM marks a saved one: its key, and no longer being added."""
    instance.pk = key
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS


@cache
def _inserted_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(field for field in model._meta.concrete_fields if field is not model._meta.auto_field)


@lru_cache(maxsize=64)
def _insert_sql(model: type[models.Model], rows: int) -> str:
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(_inserted_fields(model))) + ")"
    columns = ", ".join(quote(field.column) for field in _inserted_fields(model))
    # Names from the model's metadata; every value is a parameter.
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES {', '.join([row] * rows)} RETURNING {quote(model._meta.pk.column)}"
    )
