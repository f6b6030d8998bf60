"""A TensorFlow/Keras network, optionally trained with adversarial debiasing.

Adversarial debiasing (Zhang, Lemoine & Mitchell 2018) is FinAI's fairness-in-training option: an
adversary tries to tell a protected group from the network's output alone, and the network is trained to
predict default while making that adversary fail (its loss minus `adversary_weight` times the adversary's),
which pushes its scores toward demographic parity. The protected attribute is read from
`TrainingData.protected` during training only; it is never an input.

TensorFlow is imported only while training. The trained weights are exported to numpy: scoring, the
artifact and reasons (integrated gradients, Sundararajan et al. 2017) need no TensorFlow.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analytics.engine.families.base import Family, FittedModel, Kernel, Progress, TrainingData, report
from analytics.engine.features import FeatureCoding
from finai.errors import ApplicationError

KERAS_TOLERANCE = 1e-5  # numpy replica vs Keras, float64 against float32 arithmetic
IMPORTANCE_ROWS = 300


class NeuralKernel(Kernel):
    """The network in numpy: one input vector, a few matrix products; integrated gradients on demand.

    Integrated gradients (Sundararajan et al. 2017) attribute the log-odds gap between the applicant
    and the average applicant to the inputs, and the gap is exactly their sum. With one hidden layer
    they are computed exactly: along the straight path each ReLU unit's input is linear, so its mean
    slope has a closed form. Deeper networks use a midpoint Riemann sum.
    """

    def __init__(self, model: NeuralModel) -> None:
        self.layers = model.layers
        self.reference = model.reference
        self.owners = model.owners
        self.width = len(model.spec.features)
        self.zero = np.zeros(model.input_width)
        self.slots = [
            (j, model.columns[j], model.means[j], model.scales[j], feature.kind == "numeric")
            for j, feature in enumerate(model.spec.features)
        ]
        steps = model.params["integrated_gradient_steps"]
        self.alphas = (np.arange(steps) + 0.5) / steps
        first_weights, first_bias = self.layers[0]
        self.reference_hidden_input = self.reference @ first_weights + first_bias
        self.reference_hidden_output = np.maximum(self.reference_hidden_input, 0.0)
        self.reference_active = (self.reference_hidden_input > 0).astype(float)
        self.output_weights = self.layers[-1][0][:, 0]
        self._mean_gradient = self._exact_mean_gradient if len(self.layers) == 2 else self._sampled_mean_gradient

    def locate(self, codes: Sequence[float]) -> np.ndarray:
        vector = self.zero.copy()
        for j, column, mean, scale, numeric in self.slots:
            value = codes[j]
            if value != value:
                continue
            if numeric:
                vector[column] = (value - mean) / scale
            else:
                vector[column + int(value)] = 1.0
        return vector

    def probability_of_default(self, located: np.ndarray) -> float:
        return 1.0 / (1.0 + math.exp(-float(_log_odds(self.layers, located))))

    def attributions(self, located: np.ndarray) -> np.ndarray:
        """Integrated gradients of the log-odds from the average applicant, summed per feature."""
        gradient = self._mean_gradient(located)
        return np.bincount(self.owners, (located - self.reference) * gradient, minlength=self.width)

    def _exact_mean_gradient(self, located: np.ndarray) -> np.ndarray:
        # A ReLU's mean slope along a segment is its secant slope: (relu(end) - relu(start)) / (end - start).
        (weights, bias), _ = self.layers
        end = located @ weights + bias
        span = end - self.reference_hidden_input
        slope = np.divide(
            np.maximum(end, 0.0) - self.reference_hidden_output, span, out=self.reference_active.copy(), where=span != 0
        )
        return weights @ (self.output_weights * slope)

    def _sampled_mean_gradient(self, located: np.ndarray) -> np.ndarray:
        activations = [self.reference + self.alphas[:, None] * (located - self.reference)]
        masks = []
        for weights, bias in self.layers[:-1]:
            pre = activations[-1] @ weights + bias
            masks.append(pre > 0)
            activations.append(pre * masks[-1])
        gradient = np.broadcast_to(self.layers[-1][0][:, 0], activations[-1].shape)
        for (weights, _), mask in zip(reversed(self.layers[:-1]), reversed(masks), strict=True):
            gradient = (gradient * mask) @ weights.T
        return gradient.mean(axis=0)


def _encode(coding: FeatureCoding, means: Sequence[float], scales: Sequence[float], codes: np.ndarray) -> np.ndarray:
    """Network inputs: standardised numerics (missing at the mean) and one-hot categories."""
    blocks = []
    for j, feature in enumerate(coding.spec.features):
        column = codes[:, j]
        if feature.kind == "numeric":
            blocks.append(np.nan_to_num((column - means[j]) / scales[j])[:, None])
        else:
            present = ~np.isnan(column)
            block = np.zeros((len(column), coding.category_count(feature.name)))
            block[np.flatnonzero(present), column[present].astype(np.int64)] = 1.0
            blocks.append(block)
    return np.hstack(blocks)


def _log_odds(layers: Sequence[tuple[np.ndarray, np.ndarray]], inputs: np.ndarray) -> np.ndarray:
    hidden = inputs
    for weights, bias in layers[:-1]:
        hidden = np.maximum(hidden @ weights + bias, 0.0)
    weights, bias = layers[-1]
    return (hidden @ weights + bias)[..., 0]


class NeuralModel(FittedModel):
    family = "neural"
    attribution_unit = "integrated gradients of the log-odds of default, from the average applicant"

    def __init__(
        self,
        *,
        layers: list[tuple[np.ndarray, np.ndarray]],
        means: Sequence[float],
        scales: Sequence[float],
        reference: np.ndarray,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.layers = layers
        self.means = list(means)
        self.scales = list(scales)
        self.reference = reference
        self.columns: list[int] = []
        owners: list[int] = []
        for j, feature in enumerate(self.spec.features):
            self.columns.append(len(owners))
            owners.extend([j] * (1 if feature.kind == "numeric" else self.coding.category_count(feature.name)))
        self.owners = np.array(owners, dtype=np.int64)
        self.input_width = len(owners)

    def encode(self, codes: np.ndarray) -> np.ndarray:
        return _encode(self.coding, self.means, self.scales, codes)

    def _predict_codes(self, codes: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-_log_odds(self.layers, self.encode(codes))))

    def _compile(self) -> Kernel:
        return NeuralKernel(self)

    def _payload(self) -> dict[str, bytes]:
        files = {"neural.json": json.dumps({"means": self.means, "scales": self.scales}).encode()}
        arrays = {"reference": self.reference}
        for index, (weights, bias) in enumerate(self.layers):
            arrays[f"layer{index}_weights"] = weights
            arrays[f"layer{index}_bias"] = bias
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            files[f"{name}.npy"] = buffer.getvalue()
        return files

    @classmethod
    def _from_payload(cls, files: Mapping[str, bytes], **common: Any) -> NeuralModel:
        def array(name: str) -> np.ndarray:
            return np.load(io.BytesIO(files[f"{name}.npy"]), allow_pickle=False)

        state = json.loads(files["neural.json"])
        count = sum(1 for name in files if name.endswith("_weights.npy"))
        layers = [(array(f"layer{i}_weights"), array(f"layer{i}_bias")) for i in range(count)]
        return cls(layers=layers, means=state["means"], scales=state["scales"], reference=array("reference"), **common)


def _group_indicator(protected: pd.DataFrame, attribute: str, group: str | None) -> np.ndarray:
    """1 for members of the protected group the adversary must not be able to recognise."""
    if attribute not in protected.columns:
        raise ApplicationError(
            "The adversary's protected attribute is not in the data.",
            details={"adversary_attribute": f"{attribute!r} is not one of {', '.join(map(str, protected.columns))}"},
            code="invalid_params",
        )
    column = protected[attribute].astype("string")
    if group is None:
        counts = column.value_counts()
        if len(counts) != 2:
            raise ApplicationError(
                "Name the protected group.",
                details={"adversary_group": f"{attribute!r} has {len(counts)} groups; name the one to protect"},
                code="invalid_params",
            )
        group = str(counts.idxmin())
    indicator = (column == group).fillna(False).to_numpy(dtype=np.float32)
    if indicator.min() == indicator.max():
        raise ApplicationError(
            "The protected group is empty or everyone.",
            details={"adversary_group": f"{group!r} must be some, not all, of {attribute!r}"},
            code="invalid_params",
        )
    return indicator


def _train(
    inputs: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray | None,
    group: np.ndarray | None,
    params: Mapping[str, Any],
    seed: int,
    progress: Progress | None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The custom training loop; returns the predictor's layers as float64 (weights, bias) pairs."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    keras = tf.keras
    regulariser = keras.regularizers.L2(params["l2"])
    predictor = keras.Sequential(
        [
            keras.Input((inputs.shape[1],)),
            *(
                keras.layers.Dense(units, activation="relu", kernel_regularizer=regulariser)
                for units in params["hidden_units"]
            ),
            keras.layers.Dense(1),
        ]
    )
    adversary = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(params["adversary_units"], activation="relu"), keras.layers.Dense(1)]
    )
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    predictor_optimizer = keras.optimizers.Adam(params["learning_rate"])
    adversary_optimizer = keras.optimizers.Adam(params["adversary_learning_rate"])
    weight = float(params["adversary_weight"]) if group is not None else 0.0

    @tf.function
    def step(x: Any, y: Any, w: Any, z: Any) -> None:
        with tf.GradientTape() as tape:
            logits = predictor(x, training=True)
            loss = cross_entropy(y, logits, sample_weight=w) + tf.add_n(predictor.losses)
            if weight > 0:
                loss -= weight * cross_entropy(z, adversary(logits, training=True))
        gradients = tape.gradient(loss, predictor.trainable_variables)
        predictor_optimizer.apply_gradients(zip(gradients, predictor.trainable_variables, strict=True))
        if weight > 0:
            with tf.GradientTape() as tape:
                adversary_loss = cross_entropy(z, adversary(tf.stop_gradient(predictor(x)), training=True))
            gradients = tape.gradient(adversary_loss, adversary.trainable_variables)
            adversary_optimizer.apply_gradients(zip(gradients, adversary.trainable_variables, strict=True))

    x_all = inputs.astype(np.float32)
    y_all = target.astype(np.float32)[:, None]
    # Sample weights scale each row's loss; the mean over a batch keeps the learning rate's meaning.
    w_all = (np.ones(len(target)) if weights is None else weights / weights.mean()).astype(np.float32)
    z_all = (group if group is not None else np.zeros(len(target), dtype=np.float32))[:, None]
    order = np.random.default_rng(seed)
    size, epochs = params["batch_size"], params["epochs"]
    for epoch in range(epochs):
        rows = order.permutation(len(x_all))
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            step(
                tf.constant(x_all[batch]),
                tf.constant(y_all[batch]),
                tf.constant(w_all[batch]),
                tf.constant(z_all[batch]),
            )
        report(progress, 10 + 80 * (epoch + 1) // epochs, f"epoch {epoch + 1} of {epochs}")
    layers = [
        (layer.kernel.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)) for layer in predictor.layers
    ]
    keras_probability = tf.sigmoid(predictor(x_all)).numpy()[:, 0]
    numpy_probability = 1.0 / (1.0 + np.exp(-_log_odds(layers, x_all.astype(np.float64))))
    drift = float(np.abs(keras_probability - numpy_probability).max())
    if drift > KERAS_TOLERANCE:
        raise RuntimeError(f"the numpy replica of the network differs from Keras by {drift:.2e}")
    return layers


class NeuralNetwork(Family):
    name = "neural"
    model_class = NeuralModel
    defaults = {
        "hidden_units": [16],
        "epochs": 30,
        "batch_size": 64,
        "learning_rate": 0.005,
        "l2": 0.01,
        "adversary_weight": 0.0,
        "adversary_attribute": None,
        "adversary_group": None,
        "adversary_units": 8,
        "adversary_learning_rate": 0.01,
        "integrated_gradient_steps": 64,
    }
    importance_progress = (92, "computing importance")
    importance_rows = IMPORTANCE_ROWS

    def param_problems(self, params: Mapping[str, Any]) -> dict[str, str]:
        problems = {}
        units = params["hidden_units"]
        if not isinstance(units, list | tuple) or not units or not all(isinstance(u, int) and u > 0 for u in units):
            problems["hidden_units"] = "must be a list of positive whole numbers, one per hidden layer"
        for name in ("epochs", "batch_size", "adversary_units", "integrated_gradient_steps"):
            if not isinstance(params[name], int) or params[name] < 1:
                problems[name] = "must be a whole number of at least 1"
        for name in ("learning_rate", "adversary_learning_rate"):
            if not 0 < params[name] <= 1:
                problems[name] = "must be above 0 and at most 1"
        if params["l2"] < 0:
            problems["l2"] = "must not be negative"
        if params["adversary_weight"] < 0:
            problems["adversary_weight"] = "must not be negative (0 turns debiasing off)"
        elif params["adversary_weight"] > 0 and not params["adversary_attribute"]:
            problems["adversary_attribute"] = "is required when adversary_weight is above 0"
        return problems

    def _learn(
        self, data: TrainingData, coding: FeatureCoding, params: Mapping[str, Any], seed: int, progress: Progress | None
    ) -> NeuralModel:
        spec = coding.spec
        codes = coding.matrix(data.features)
        means = [float(np.nanmean(codes[:, j])) if f.kind == "numeric" else 0.0 for j, f in enumerate(spec.features)]
        scales = [
            (float(np.nanstd(codes[:, j])) or 1.0) if f.kind == "numeric" else 1.0 for j, f in enumerate(spec.features)
        ]
        inputs = _encode(coding, means, scales, codes)
        group = None
        if params["adversary_weight"] > 0:
            group = _group_indicator(data.protected, params["adversary_attribute"], params["adversary_group"])
        report(progress, 5, "training the network")
        layers = _train(inputs, data.target, data.weights, group, params, seed, progress)
        return NeuralModel(
            layers=layers,
            means=means,
            scales=scales,
            reference=inputs.mean(axis=0),
            coding=coding,
            params=params,
            seed=seed,
            importance={},
        )
