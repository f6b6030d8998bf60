"""The model families FinAI can train, by name."""

from __future__ import annotations

from analytics.engine.families.base import Family, FittedModel, Kernel, Progress, TrainingData
from analytics.engine.families.gbm import GradientBoosting
from analytics.engine.families.neural import NeuralNetwork
from analytics.engine.families.scorecard import Scorecard
from finai.errors import ApplicationError

FAMILIES: dict[str, type[Family]] = {family.name: family for family in (Scorecard, GradientBoosting, NeuralNetwork)}


def family_get(name: str) -> Family:
    """The family registered under `name`; an unknown name is refused with the known ones listed."""
    try:
        return FAMILIES[name]()
    except KeyError:
        raise ApplicationError(
            "Unknown model family.",
            details={"family": f"{name!r} is not one of {', '.join(sorted(FAMILIES))}"},
            code="invalid_family",
        ) from None


def model_from_bytes(blob: bytes) -> FittedModel:
    """Load a model of any family from its artifact bytes (check the SHA-256 before calling)."""
    return FittedModel.from_bytes(blob)


__all__ = ["FAMILIES", "Family", "FittedModel", "Kernel", "Progress", "TrainingData", "family_get", "model_from_bytes"]
