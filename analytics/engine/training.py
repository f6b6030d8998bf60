"""One training run as the engine sees it: split, fit, evaluate on the holdout, serialise.

The Django side wraps this in a Celery task and records the result as a ModelVersion; keeping the run
itself plain Python means it is tested without a database and gives the same model for the same seed
and data wherever it runs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from analytics.engine.evaluation import Evaluation, model_evaluate
from analytics.engine.families import family_get
from analytics.engine.families.base import FittedModel, Progress, TrainingData, report
from analytics.engine.mitigation import Mitigation, family_params_for, mitigated_fit
from analytics.engine.policy import DEFAULT_POLICY, DecisionPolicy

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


def alternative_data_effect(
    *,
    run: TrainingRun,
    family: str,
    data: TrainingData,
    features: tuple[str, ...],
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    policy: DecisionPolicy = DEFAULT_POLICY,
    holdout_fraction: float = HOLDOUT_FRACTION,
    mitigation: Mitigation | None = None,
) -> dict[str, Any]:
    """What opt-in alternative-data features change: the same family, seed and split trained without
    them, and both models' holdout decisions put through the fairness engine.

    A new input can raise accuracy and still act as a proxy for a protected group (a segment that
    follows sex or age); the two reports side by side show both, group by group.
    """
    from analytics.engine.fairness import FairnessConfig, model_holdout_audit

    baseline_spec = data.spec.without(features)
    baseline = model_train(
        family=family,
        data=replace(data, spec=baseline_spec),
        params=params,
        seed=seed,
        policy=policy,
        holdout_fraction=holdout_fraction,
        mitigation=mitigation,
    )
    _, holdout = data.split(holdout_fraction=holdout_fraction, seed=seed)
    config = FairnessConfig(intersections=False, seed=seed)
    sides = {}
    for side, trained in (("with", run), ("without", baseline)):
        audit = model_holdout_audit(
            probability_of_default=trained.model.predict_proba_default(holdout.features),
            defaulted=holdout.target,
            protected=holdout.protected,
            policy=policy,
            config=config,
        )
        sides[side] = {"auc": trained.evaluation["metrics"]["auc"], **_adverse_impact(audit.report)}
    distinct = {name: int(data.features[name].nunique(dropna=True)) for name in features}
    return {"features": list(features), "distinct_values": distinct, **sides}


def _adverse_impact(report: Any) -> dict[str, Any]:
    """Each group's approval rate and adverse impact ratio (with intervals), and the lowest ratio among
    groups large enough to judge.

    The ratio is against the attribute's most favoured group, as the version's holdout summary and the
    fairness reports' headline read it, so one version's page shows one ratio per group.
    """
    groups: dict[str, dict[str, Any]] = {}
    judged = []
    for attribute in report.attributes:
        groups[attribute.name] = {}
        for group in attribute.groups:
            ratio = group.adverse_impact_ratio_vs_most_favoured
            groups[attribute.name][group.label] = {
                "applicants": group.applicants,
                "approval_rate": group.approval_rate.value,
                "adverse_impact_ratio_vs_most_favoured": ratio.value,
                "adverse_impact_ratio_vs_most_favoured_low": ratio.low,
                "adverse_impact_ratio_vs_most_favoured_high": ratio.high,
                "small_group": group.small_group,
            }
            if not group.small_group and ratio.value is not None:
                judged.append(ratio.value)
    return {"lowest_adverse_impact_ratio": min(judged) if judged else None, "groups": groups}
