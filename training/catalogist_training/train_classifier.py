"""Fine-tune EfficientNet-Lite0 on labelled shop photos; writes `<out>/work/model.keras`.

    catalogist train classifier --data ../shared/datasets/grocerystore --out artifacts/classifier

Recipe (`config.TrainConfig`, each part a switch so it can be measured against a plain
fine-tune): ImageNet weights; batch-norm statistics frozen or re-estimated; the stages from
`train_from` on trained; AdamW with warmup and cosine decay; label smoothing; a loss on the leaves
plus one on the coarse level (a mistake between two apples costs less than apple-versus-milk); an
exponential moving average of weights; augmentation aimed at shop-photo failures or the standard
set (`augment.py`); iconic studio shots. Resumable: rerunning the same command continues from the
last finished epoch. What was tried and measured, with figures: docs/experiments.md.
"""

import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from catalogist.models.taxonomy import Taxonomy
from catalogist_training.augment import augment_batch
from catalogist_training.backbone import build_backbone
from catalogist_training.config import TrainConfig
from catalogist_training.prepare import RunPhotos, labels, load_pixels

CACHE_MARGIN = 1.15  # training crops come from a slightly larger cached image


@keras.saving.register_keras_serializable("catalogist")
class HierarchicalLoss(keras.losses.Loss):
    """Smoothed cross-entropy on the leaves plus cross-entropy of the coarse-level marginal."""

    def __init__(self, leaf_to_coarse, smoothing=0.1, coarse_weight=0.5, **kwargs):
        super().__init__(**kwargs)
        self.leaf_to_coarse = [int(i) for i in leaf_to_coarse]
        self.smoothing = float(smoothing)
        self.coarse_weight = float(coarse_weight)
        n_coarse = max(self.leaf_to_coarse) + 1
        self._members = tf.one_hot(self.leaf_to_coarse, n_coarse, dtype=tf.float32)

    def call(self, y_true, y_pred):
        y_true = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
        n_leaves = tf.shape(y_pred)[-1]
        target = tf.one_hot(y_true, n_leaves) * (1 - self.smoothing) + self.smoothing / tf.cast(n_leaves, tf.float32)
        log_p = tf.math.log(tf.clip_by_value(y_pred, 1e-7, 1.0))
        fine = -tf.reduce_sum(target * log_p, axis=-1)
        coarse_p = tf.matmul(y_pred, self._members)
        coarse_true = tf.gather(tf.constant(self.leaf_to_coarse), y_true)
        coarse = -tf.math.log(tf.clip_by_value(tf.gather(coarse_p, coarse_true, batch_dims=1), 1e-7, 1.0))
        return fine + self.coarse_weight * coarse

    def get_config(self):
        return {
            **super().get_config(),
            "leaf_to_coarse": self.leaf_to_coarse,
            "smoothing": self.smoothing,
            "coarse_weight": self.coarse_weight,
        }


class ProgressBar(keras.callbacks.Callback):
    """One tqdm bar per epoch, with the running loss, so a long CPU run shows it is alive."""

    def __init__(self, steps: int, epochs: int):
        super().__init__()
        self.steps, self.epochs, self.bar = steps, epochs, None

    def on_epoch_begin(self, epoch, logs=None):
        self.bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch")

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{logs['loss']:.3f}")

    def on_epoch_end(self, epoch, logs=None):
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k != "learning_rate"})
        self.bar.close()


class SaveProgress(keras.callbacks.Callback):
    """After each epoch: the full model (weights, optimizer, EMA) and how far training got."""

    def __init__(self, work: Path):
        super().__init__()
        self.work = work

    def on_epoch_end(self, epoch, logs=None):
        self.model.save(self.work / "checkpoint.keras")
        (self.work / "progress.json").write_text(json.dumps({"epochs_done": epoch + 1}))


def build_classifier(taxonomy: Taxonomy, config: TrainConfig) -> keras.Model:
    backbone = build_backbone(config.image_size, variant=config.backbone)
    frozen = config.frozen_stages()
    for layer in backbone.layers:
        batch_norm = isinstance(layer, keras.layers.BatchNormalization)
        if (batch_norm and config.freeze_batch_norm) or layer.name.split("_")[0] in frozen:
            layer.trainable = False
    x = keras.layers.Dropout(config.dropout, name="dropout")(backbone.output)
    logits = keras.layers.Dense(len(taxonomy.leaves), name="leaf_logits")(x)
    probabilities = keras.layers.Softmax(name="leaf_probabilities")(logits)
    return keras.Model(backbone.input, probabilities, name="catalogist_classifier")


def compile_classifier(model: keras.Model, taxonomy: Taxonomy, config: TrainConfig, steps: int):
    coarse_level = taxonomy.levels[-2] if len(taxonomy.levels) > 1 else taxonomy.levels[-1]
    total = steps * config.epochs
    warmup = int(steps * config.warmup_epochs)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate / 20,
        max(total - warmup, 1),
        alpha=0.0,
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
    )
    optimizer = keras.optimizers.AdamW(
        schedule,
        weight_decay=config.weight_decay,
        use_ema=config.ema_momentum > 0,
        ema_momentum=config.ema_momentum or 0.99,
    )
    loss = HierarchicalLoss(taxonomy.leaf_to_node(coarse_level), config.label_smoothing, config.coarse_loss_weight)
    model.compile(optimizer, loss, metrics=[keras.metrics.SparseCategoricalAccuracy("fine_accuracy")])


def training_pixels(run: RunPhotos, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    cache = round(config.image_size * CACHE_MARGIN)
    photos = list(run.train) + list(run.extra) + list(run.iconic) * config.iconic_copies
    return load_pixels(photos, cache, "decoding train photos"), labels(photos, run.taxonomy)


def train_classifier(run: RunPhotos, config: TrainConfig) -> Path:
    """Train (or resume) and return the path of the finished float Keras model."""
    work = Path(config.out) / "work"
    work.mkdir(parents=True, exist_ok=True)
    final = work / "model.keras"
    if final.exists():
        return final
    keras.utils.set_random_seed(config.seed)
    if config.threads:
        tf.config.threading.set_intra_op_parallelism_threads(config.threads)
    config.save(work / "config.json")
    run.taxonomy.save(work / "taxonomy.json")
    started = time.time()

    x_train, y_train = training_pixels(run, config)
    check = list(run.val) + list(run.holdout)  # none in a refit on every labelled photo
    validation = (load_pixels(check, config.image_size, "decoding check photos"), labels(check, run.taxonomy))
    steps = len(x_train) // config.batch_size
    dataset = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size, drop_remainder=True)
        .map(
            lambda x, y: (augment_batch(x, config.image_size, config.augment), y),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(2)
    )

    progress = work / "progress.json"
    done = json.loads(progress.read_text())["epochs_done"] if progress.exists() else 0
    if done:
        model = keras.saving.load_model(work / "checkpoint.keras")
    else:
        model = build_classifier(run.taxonomy, config)
        compile_classifier(model, run.taxonomy, config, steps)
    callbacks = [
        ProgressBar(steps, config.epochs),
        SaveProgress(work),
        keras.callbacks.CSVLogger(str(work / "history.csv"), append=True),
    ]
    if check and config.patience:
        callbacks.append(keras.callbacks.EarlyStopping("val_fine_accuracy", patience=config.patience, mode="max"))
    if done < config.epochs:
        model.fit(
            dataset,
            epochs=config.epochs,
            initial_epoch=done,
            verbose=0,
            shuffle=False,
            validation_data=validation if check else None,
            validation_batch_size=64,
            callbacks=callbacks,
        )
    else:  # stopped after the last epoch but before saving: apply the moving average here
        model.optimizer.finalize_variable_values(model.trainable_weights)
    model.save(final)  # fit swapped the moving-average weights in at the end
    timing = {"train_seconds": round(time.time() - started, 1), "resumed_from_epoch": done}
    (work / "timing.json").write_text(json.dumps(timing) + "\n")
    return final
