"""Request bodies with a size limit per view (413 beyond it) and CSV for batches."""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from lending.api.exceptions import ContentTooLarge

DEFAULT_MAX_BODY_BYTES = 64 * 1024


def _read_limited(stream: Any, parser_context: dict[str, Any] | None) -> bytes:
    view = (parser_context or {}).get("view")
    limit = getattr(view, "max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise ContentTooLarge(f"The request body is larger than this operation accepts ({limit} bytes).")
    return body


def _decoded(body: bytes) -> str:
    try:
        return codecs.decode(body, "utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"The body is not UTF-8 text: {exc.reason} at byte {exc.start}.") from None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large a number")
    return number


class LimitedJSONParser(BaseParser):
    """Strict JSON (no NaN or Infinity, no numbers that overflow to infinity) within the view's limit."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        text = _decoded(_read_limited(stream, parser_context))
        try:
            return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None


class CSVParser(BaseParser):
    """CSV text (UTF-8); the view reads the rows, so that it can name each bad row and column."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> str:
        return _decoded(_read_limited(stream, parser_context))
