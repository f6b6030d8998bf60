"""The file types the portal's uploads accept, by extension; each form bounds the size itself.

An extension is a cheap first refusal (a spreadsheet's .xlsx, a PDF, an executable) with a clear message on the
field; the content is then read as UTF-8 text by every upload, so a renamed binary is refused on its field too.
"""

from __future__ import annotations

from django.core.validators import FileExtensionValidator

CSV_UPLOAD = FileExtensionValidator(
    ["csv", "txt"], message="Only CSV files (.csv, .txt) are accepted; this file's extension is “%(extension)s”."
)
YAML_UPLOAD = FileExtensionValidator(
    ["yaml", "yml"], message="Only YAML files (.yaml, .yml) are accepted; this file's extension is “%(extension)s”."
)
