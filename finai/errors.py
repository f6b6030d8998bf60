"""The one domain exception raised by services; forms, commands and the API translate it once."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A use case refused: `message` for people, `details` naming each offending field or row.

    `details` maps a field (or "row 12: column") to its problem, so every invalid input is named.
    """

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.code = code

    def __str__(self) -> str:
        if not self.details:
            return self.message
        listed = "; ".join(f"{field}: {problem}" for field, problem in self.details.items())
        return f"{self.message} ({listed})"
