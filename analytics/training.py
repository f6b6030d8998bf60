"""One training run as the engine sees it: split, fit, evaluate on the holdout, serialise.

The Django side wraps this in a Celery task and records the result as a ModelVersion; keeping the run
itself plain Python means it is tested without a database and gives the same model for the same seed
and data wherever it runs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analytics.evaluation import Evaluation, model_evaluate
from analytics.families import family_get
from analytics.families.base import FittedModel, Progress, TrainingData, report
from analytics.mitigation import Mitigation, family_params_for, mitigated_fit
from analytics.policy import DEFAULT_POLICY, DecisionPolicy

HOLDOUT_FRACTION = 0.3


@dataclass(frozen=True)
class TrainingRun:
    """What a run produced: the model, its artifact bytes and everything a ModelVersion records."""

    model: FittedModel
    artifact: bytes
    evaluation: Evaluation
    importance: dict[str, float]
    params: dict[str, Any]
    train_rows: int
    holdout_rows: int
    seconds: float


def model_train(
    *,
    family: str,
    data: TrainingData,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    policy: DecisionPolicy = DEFAULT_POLICY,
    holdout_fraction: float = HOLDOUT_FRACTION,
    progress: Progress | None = None,
    mitigation: Mitigation | None = None,
) -> TrainingRun:
    """Fit `family` on a stratified split of `data` and evaluate it on the rest (fit: 0-90%, evaluation after).

    A mitigation sees the training rows only (reweighing weights, the constraint's groups), so the
    holdout measures the mitigated model as it will decide.
    """
    started = time.perf_counter()
    mitigation = mitigation or Mitigation()
    resolved = family_get(family).resolve_params(family_params_for(mitigation=mitigation, params=params))
    train, holdout = data.split(holdout_fraction=holdout_fraction, seed=seed)

    def fitting(percent: int, message: str) -> None:
        report(progress, percent * 9 // 10, message)

    model = mitigated_fit(
        family=family,
        data=train,
        params=resolved,
        seed=seed,
        policy=policy,
        mitigation=mitigation,
        progress=fitting,
    )
    report(progress, 92, "evaluating on the holdout")
    evaluation = model_evaluate(model=model, holdout=holdout, policy=policy)
    artifact = model.to_bytes()
    report(progress, 100, "trained")
    return TrainingRun(
        model=model,
        artifact=artifact,
        evaluation=evaluation,
        importance=model.global_importance(),
        params=resolved,
        train_rows=len(train),
        holdout_rows=len(holdout),
        seconds=time.perf_counter() - started,
    )
