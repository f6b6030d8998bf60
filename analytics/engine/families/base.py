"""What every model family shares: training data, the fitted-model interface and its artifact format.

A family turns `TrainingData` into a `FittedModel`. A fitted model scores DataFrames (training,
evaluation, monitoring) and compiles into a `Kernel`, the numpy-only form that decides one application
on a partner's critical path. Both paths read the same coding, so their probabilities agree.
"""

from __future__ import annotations

import io
import json
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from analytics.engine.dataset_schema import DatasetSchema
from analytics.engine.features import FeatureCoding, FeatureSpec
from finai.errors import ApplicationError

Progress = Callable[[int, str], None]
Model = TypeVar("Model", bound="FittedModel")
ARTIFACT_FORMAT = 1
MANIFEST = "manifest.json"
# A fixed timestamp inside artifacts, so the same model always serialises to the same bytes (and SHA-256).
ZIP_TIMESTAMP = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class TrainingData:
    """Rows to learn from: features, target (1 = default) and protected groups, kept apart.

    `protected` holds group labels (sex, age_band, ...) for fairness evaluation and mitigation only;
    no family reads it as an input. `features` may carry extra columns: the spec decides what is read.
    `weights` are optional per-row sample weights (reweighing, a pre-processing mitigation); every
    family honours them, and None means every row counts once.
    """

    features: pd.DataFrame
    target: np.ndarray
    protected: pd.DataFrame
    spec: FeatureSpec
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        problems: dict[str, str] = {}
        target = np.asarray(self.target)
        if len(target) != len(self.features) or len(self.protected) != len(self.features):
            problems["rows"] = "features, target and protected must have the same number of rows"
        if not np.isin(target, (0, 1)).all():
            problems["target"] = "must be 0 (repaid) or 1 (default)"
        elif len(np.unique(target)) < 2:
            problems["target"] = "needs both repaid and defaulted rows"
        for name in self.spec.names:
            if name not in self.features.columns:
                problems[name] = "feature column is missing"
        if self.weights is not None:
            weights = np.asarray(self.weights, dtype=np.float64)
            if weights.shape != target.shape:
                problems["weights"] = "must have one weight per row"
            elif not (np.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0):
                problems["weights"] = "must be finite, not negative, and not all zero"
            else:
                object.__setattr__(self, "weights", weights)
        if problems:
            raise ApplicationError("The training data cannot be used.", details=problems, code="invalid_data")
        object.__setattr__(self, "target", target.astype(np.int64))

    def __len__(self) -> int:
        return len(self.target)

    def take(self, rows: Sequence[int] | np.ndarray) -> TrainingData:
        return TrainingData(
            features=self.features.iloc[rows].reset_index(drop=True),
            target=self.target[rows],
            protected=self.protected.iloc[rows].reset_index(drop=True),
            spec=self.spec,
            weights=None if self.weights is None else self.weights[rows],
        )

    def weighted(self, weights: np.ndarray | None) -> TrainingData:
        """The same rows with sample weights (None: unweighted)."""
        return replace(self, weights=weights)

    def holdout_rows(self, *, holdout_fraction: float = 0.3, seed: int = 0) -> np.ndarray:
        """The row numbers (sorted) that `split` holds out: a seed and fraction name the same rows of the same
        data every time, so two versions' holdouts can be compared row by row."""
        from sklearn.model_selection import train_test_split

        _, held_out = train_test_split(
            np.arange(len(self)), test_size=holdout_fraction, stratify=self.target, random_state=seed
        )
        return np.sort(held_out)

    def split(self, *, holdout_fraction: float = 0.3, seed: int = 0) -> tuple[TrainingData, TrainingData]:
        """A stratified (train, holdout) split: both keep the data set's default rate."""
        held_out = self.holdout_rows(holdout_fraction=holdout_fraction, seed=seed)
        return self.take(np.setdiff1d(np.arange(len(self)), held_out)), self.take(held_out)


def training_data_from_rows(frame: pd.DataFrame, *, schema: DatasetSchema) -> TrainingData:
    """Training data from a data set's raw text cells, read exactly as the lending import reads them.

    Every cell goes through the schema's own parser (missing markers, code labels), and protected
    columns become the protected-attribute fields (sex, marital_status, age_band, ...).
    """
    spec = FeatureSpec.from_schema(schema)
    target_column = schema.column(spec.target)
    problems: dict[str, str] = {}
    parsed: dict[str, list[Any]] = {}
    for column in (*schema.features, *schema.protected, target_column):
        if column.name not in frame.columns:
            problems[column.name] = "column is missing from the data"
            continue
        values = []
        for number, cell in enumerate(frame[column.name], start=1):
            try:
                values.append(None if pd.isna(cell) else column.parse(str(cell)))
            except ValueError as exc:
                problems.setdefault(f"row {number}, {column.name}", str(exc))
                values.append(None)
        parsed[column.name] = values
    if problems:
        raise ApplicationError("The data set cannot be read.", details=problems, code="invalid_data")
    labels = [str(value) for value in parsed[spec.target]]
    allowed = {schema.positive_label, schema.negative_label} if schema.negative_label else None
    for number, label in enumerate(labels, start=1):
        if allowed is not None and label not in allowed:
            problems.setdefault(f"row {number}, {spec.target}", f"{label!r} is neither outcome label")
    groups: list[dict[str, Any]] = []
    for number in range(len(frame)):
        row: dict[str, Any] = {}
        for column in schema.protected:
            try:
                row.update(column.protected_values(parsed[column.name][number]))
            except ValueError as exc:
                problems.setdefault(f"row {number + 1}, {column.name}", str(exc))
        groups.append(row)
    if problems:
        raise ApplicationError("The data set cannot be read.", details=problems, code="invalid_data")
    return TrainingData(
        features=pd.DataFrame({name: pd.Series(parsed[name], dtype=object) for name in spec.names}),
        target=np.array([label == schema.positive_label for label in labels], dtype=np.int64),
        protected=pd.DataFrame(groups, index=range(len(frame))),
        spec=spec,
    )


def training_data_from_file(schema: DatasetSchema, path: Path | None = None) -> TrainingData:
    """Training data from a data set's file (the schema's own file unless another is named)."""
    frame = pd.read_csv(
        path or schema.resolve_file(), sep=schema.delimiter, dtype=str, keep_default_na=False, na_filter=False
    )
    return training_data_from_rows(frame, schema=schema)


class Kernel(ABC):
    """A fitted model reduced to precomputed numpy tables, to decide one application in microseconds.

    `locate` turns the coded application into the family's own representation (bins, leaf patterns,
    an input vector); probability and attributions read from it, so attributions cost nothing for the
    approvals that do not need them.
    """

    @abstractmethod
    def locate(self, codes: Sequence[float]) -> Any: ...

    @abstractmethod
    def probability_of_default(self, located: Any) -> float: ...

    @abstractmethod
    def attributions(self, located: Any) -> np.ndarray:
        """Per feature (spec order), how far it pushes this applicant toward default; positive = riskier."""


class FittedModel(ABC):
    """A trained model of any family: batch scoring, attributions, importance and its artifact bytes."""

    family: ClassVar[str]
    attribution_unit: ClassVar[str]

    def __init__(
        self, *, coding: FeatureCoding, params: Mapping[str, Any], seed: int, importance: Mapping[str, float]
    ) -> None:
        self.coding = coding
        self.params = dict(params)
        self.seed = seed
        self.importance = dict(importance)
        self._kernel: Kernel | None = None

    @property
    def spec(self) -> FeatureSpec:
        return self.coding.spec

    @property
    def input_names(self) -> tuple[str, ...]:
        """The columns this model reads, in order; never a protected attribute."""
        return self.spec.names

    def predict_proba_default(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of default for every row; extra columns are ignored."""
        return self._predict_codes(self.coding.matrix(features))

    def attributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per row and feature, how far the feature pushes toward default (see `attribution_unit`)."""
        kernel = self.kernel()
        rows = [kernel.attributions(kernel.locate(codes)) for codes in self.coding.matrix(features).tolist()]
        return pd.DataFrame(np.array(rows).reshape(len(features), -1), columns=list(self.input_names))

    def global_importance(self) -> dict[str, float]:
        """Each feature's share of the mean absolute attribution on the training data (sums to 1)."""
        return dict(sorted(self.importance.items(), key=lambda item: -item[1]))

    def kernel(self) -> Kernel:
        """The compiled fast form, built once per loaded model."""
        if self._kernel is None:
            self._kernel = self._compile()
        return self._kernel

    def to_bytes(self) -> bytes:
        """The artifact: a zip of a JSON manifest and the family's own files, byte-identical for a same model."""
        manifest = {
            "format": ARTIFACT_FORMAT,
            "family": self.family,
            "coding": self.coding.as_dict(),
            "params": self.params,
            "seed": self.seed,
            "importance": self.importance,
        }
        files = {MANIFEST: json.dumps(manifest, sort_keys=True).encode(), **self._payload()}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP), files[name])
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> FittedModel:
        """Rebuild a model from its artifact. Verify the artifact's SHA-256 first: sklearn parts are pickles."""
        try:
            with zipfile.ZipFile(io.BytesIO(blob)) as archive:
                files = {name: archive.read(name) for name in archive.namelist()}
            manifest = json.loads(files.pop(MANIFEST))
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise ApplicationError("The artifact is not a FinAI model.", details={"artifact": str(exc)}) from exc
        if manifest.get("format") != ARTIFACT_FORMAT:
            raise ApplicationError("The artifact format is not supported.", details={"format": manifest.get("format")})
        if cls is not FittedModel and manifest["family"] != cls.family:
            raise ApplicationError(
                "The artifact holds another family.", details={"family": f"{manifest['family']}, not {cls.family}"}
            )
        from analytics.engine.families import family_get

        family = family_get(manifest["family"])
        return family.model_class._from_payload(
            files,
            coding=FeatureCoding.from_dict(manifest["coding"]),
            params=manifest["params"],
            seed=manifest["seed"],
            importance=manifest["importance"],
        )

    @abstractmethod
    def _predict_codes(self, codes: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _compile(self) -> Kernel: ...

    @abstractmethod
    def _payload(self) -> dict[str, bytes]: ...

    @classmethod
    @abstractmethod
    def _from_payload(
        cls,
        files: Mapping[str, bytes],
        *,
        coding: FeatureCoding,
        params: Mapping[str, Any],
        seed: int,
        importance: Mapping[str, float],
    ) -> FittedModel: ...


class Family(ABC):
    """A way to learn a model: its name, default parameters and `fit`."""

    name: ClassVar[str]
    model_class: ClassVar[type[FittedModel]]
    # The family's own parameters; `features` (read by `coding_for`) is every family's and is added to them.
    defaults: ClassVar[Mapping[str, Any]]
    # The progress `fit` reports while it measures importance, the step after the family's training.
    importance_progress: ClassVar[tuple[int, str]] = (90, "computing importance")
    # How many training rows importance is averaged over (None: all), where attributions are costly.
    importance_rows: ClassVar[int | None] = None

    def resolve_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with `params`; an unknown name is refused, so a typo never trains silently."""
        known = {**self.defaults, "features": None}
        given = dict(params or {})
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ApplicationError(
                f"Unknown parameters for the {self.name} family.",
                details={name: f"is not a parameter; expected one of {', '.join(sorted(known))}" for name in unknown},
                code="invalid_params",
            )
        resolved = {**known, **given}
        problems = self.param_problems(resolved)
        if problems:
            raise ApplicationError(
                f"Invalid parameters for the {self.name} family.", details=problems, code="invalid_params"
            )
        return resolved

    def param_problems(self, params: Mapping[str, Any]) -> dict[str, str]:
        """Per parameter, what is wrong with its value."""
        return {}

    def coding_for(self, data: TrainingData, params: Mapping[str, Any]) -> FeatureCoding:
        """The coding to train on: of the data's spec or the subset named by `features`, without its
        monotone directions where the family has a `monotone` parameter and it is false."""
        names = params.get("features")
        spec = data.spec if names is None else data.spec.restrict(names)
        if params.get("monotone") is False:
            spec = spec.without_monotone()
        return FeatureCoding.fit(spec, data.features)

    def fit(
        self,
        data: TrainingData,
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
        progress: Progress | None = None,
    ) -> FittedModel:
        """A model trained on `data`: parameters resolved and checked first, importance measured last."""
        resolved = self.resolve_params(params)
        model = self._learn(data, self.coding_for(data, resolved), resolved, seed, progress)
        return self.with_importance(model, data, progress)

    def with_importance(self, model: Model, data: TrainingData, progress: Progress | None) -> Model:
        """`model` with its global importance measured on the training rows: how every fit ends."""
        report(progress, *self.importance_progress)
        rows = data.features if self.importance_rows is None else data.features.iloc[: self.importance_rows]
        model.importance = importance_shares(model, rows)
        report(progress, 100, "done")
        return model

    @abstractmethod
    def _learn(
        self, data: TrainingData, coding: FeatureCoding, params: Mapping[str, Any], seed: int, progress: Progress | None
    ) -> FittedModel:
        """The family's own training on resolved `params` and `coding_for` them; importance is left to `fit`."""


def report(progress: Progress | None, percent: int, message: str) -> None:
    if progress is not None:
        progress(percent, message)


def importance_shares(model: FittedModel, features: pd.DataFrame) -> dict[str, float]:
    """Mean absolute attribution per feature, as shares summing to 1 (all zero if nothing moves the score)."""
    mean_absolute = model.attributions(features).abs().mean()
    total = float(mean_absolute.sum())
    return {name: (float(value) / total if total > 0 else 0.0) for name, value in mean_absolute.items()}
