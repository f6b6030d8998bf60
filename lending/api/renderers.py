"""Media types the API answers with besides JSON: RFC 9457 problems and CSV batch results."""

from __future__ import annotations

import csv
import io
from typing import Any

from rest_framework.renderers import BaseRenderer, JSONRenderer

from finai.exports import csv_cell


class ProblemJSONRenderer(JSONRenderer):
    media_type = "application/problem+json"
    format = "problem"


class CSVRenderer(BaseRenderer):
    """A list of flat dicts as CSV with a header row; the columns are the first row's keys."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        rows = data if isinstance(data, list) else []
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            # Cells a spreadsheet would run as formulas (a partner's own reference, say) are neutralised.
            writer.writerows({name: csv_cell(value) for name, value in row.items()} for row in rows)
        return buffer.getvalue().encode(self.charset)
