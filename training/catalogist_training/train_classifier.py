"""Fine-tune a pretrained backbone on labelled shop photos; writes `<out>/work/model.keras`.

    catalogist train classifier --data ../shared/datasets/grocerystore --out artifacts/classifier

Recipe (`config.TrainConfig`, each part a switch so it can be measured against a plain
fine-tune): ImageNet weights; batch-norm statistics frozen or re-estimated; the stages from
`train_from` on trained; AdamW with warmup and cosine decay; label smoothing; a loss on the leaves
plus one on the coarse level (a mistake between two apples costs less than apple-versus-milk); an
exponential moving average of weights; augmentation aimed at shop-photo failures or the standard
set (`augment.py`); iconic studio shots. What was tried and measured: docs/experiments.md.

Photos stream from their files or a pack (`input_pipeline.py`), so memory does not grow with
their number; the machine's GPUs are used as `accelerators.py` plans. Each epoch leaves a
checkpoint (a folder or gs://): rerunning the same command, or a preempted job restarting,
continues from the newest one.
"""

import gc
import json
import logging
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import keras
import tensorflow as tf
from tqdm import tqdm

from catalogist.models.taxonomy import Taxonomy
from catalogist_training import files
from catalogist_training.accelerators import Plan, local_gpus, plan, split_cpu, strategy_for
from catalogist_training.backbone import (
    build_backbone,
    build_saved_model_backbone,
    is_saved_model,
    saved_model_path,
)
from catalogist_training.config import TrainConfig
from catalogist_training.input_pipeline import Skipped, check_batches, combined, training_batches
from catalogist_training.photo_sets import repeated
from catalogist_training.prepare import RunPhotos

CACHE_MARGIN = 1.15  # training crops come from a slightly larger decoded image
PROGRESS_EVERY_SECONDS = 30
CHECK_BATCH = 64
# settings that only change the export (gate, thresholds, int8 ranges): a run resumed with other
# values of these trained the same model
EXPORT_FIELDS = (
    "max_gap",
    "target_precision",
    "bound_confidence",
    "calibration_rule",
    "thresholds_from",
    "representative_photos",
    "tta",
)

log = logging.getLogger("catalogist.training")
# Keras warns at the end of every validation pass over a dataset whose length it cannot know
# (skipping undecodable photos hides it); running out of check photos is the intended end there.
warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)


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
    """One tqdm bar per epoch on a terminal, so a long CPU run shows it is alive; off in logs."""

    def __init__(self, steps: int, epochs: int):
        super().__init__()
        self.steps, self.epochs, self.bar = steps, epochs, None
        self.shown = sys.stderr.isatty()

    def on_epoch_begin(self, epoch, logs=None):
        self.bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch", disable=not self.shown)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{logs['loss']:.3f}")

    def on_epoch_end(self, epoch, logs=None):
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k != "learning_rate"})
        self.bar.close()


class Progress(keras.callbacks.Callback):
    """A JSON log line every half minute and at each epoch's end: where the run is, how fast it
    goes and when it will end (what `catalogist train classifier --vertex` follows from afar)."""

    def __init__(self, total_steps: int, steps_per_epoch: int, batch: int, done: int):
        super().__init__()
        self.total, self.per_epoch, self.batch = total_steps, steps_per_epoch, batch
        self.start_step, self.step = done, done
        self.started = self.last = time.monotonic()

    def _line(self, message: str, **extra) -> None:
        elapsed = time.monotonic() - self.started
        rate = (self.step - self.start_step) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.step) / rate if rate > 0 else None
        log.info(
            message,
            extra={
                "step": self.step,
                "steps_total": self.total,
                "epoch": self.step // self.per_epoch,
                "photos_per_second": round(rate * self.batch, 1),
                "eta_seconds": round(eta) if eta is not None else None,
                **extra,
            },
        )
        self.last = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step == self.start_step + 1:  # the run is under way: no pass over the photos first
            self._line("first step", loss=round(float(logs["loss"]), 4))
        elif time.monotonic() - self.last >= PROGRESS_EVERY_SECONDS:
            self._line("training", loss=round(float(logs["loss"]), 4))

    def on_epoch_end(self, epoch, logs=None):
        self._line("epoch finished", **{k: round(float(v), 4) for k, v in (logs or {}).items()})


class StopAfter(keras.callbacks.Callback):
    """Ends training after `max_steps` optimizer steps (a smoke or memory run)."""

    def __init__(self, max_steps: int):
        super().__init__()
        self.max_steps = max_steps
        self.reached = False

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.max_steps:
            self.reached = self.model.stop_training = True


class Checkpoints:
    """Full models (weights, optimizer state, moving average) in a folder or bucket, and
    `progress.json` naming the newest. The checkpoint is written first, the progress second and
    the older checkpoint removed last, so a run stopped at any moment resumes from a whole one."""

    def __init__(self, location: str):
        self.location = location
        self.progress = files.join(location, "progress.json")

    def latest(self) -> dict | None:
        """{"checkpoint": location, "steps_done": n, "epochs_done": n} or None."""
        if not files.exists(self.progress):
            return None
        progress = json.loads(files.read_text(self.progress))
        checkpoint = files.join(self.location, progress.get("checkpoint", "checkpoint.keras"))
        return {**progress, "checkpoint": checkpoint}

    def save(self, model: keras.Model, steps_done: int, epochs_done: int) -> None:
        previous = self.latest()
        name = f"checkpoint-{steps_done:09d}.keras"
        model.save(files.join(self.location, name))
        progress = {"checkpoint": name, "steps_done": steps_done, "epochs_done": epochs_done}
        files.write_text(self.progress, json.dumps(progress) + "\n")
        if previous and files.name(previous["checkpoint"]) != name:
            files.remove(previous["checkpoint"])


class SaveProgress(keras.callbacks.Callback):
    """After each epoch, and where `--max-steps` stops one: a checkpoint."""

    def __init__(self, checkpoints: Checkpoints, steps_per_epoch: int):
        super().__init__()
        self.checkpoints, self.steps_per_epoch = checkpoints, steps_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        steps = int(self.model.optimizer.iterations.numpy())
        self.checkpoints.save(self.model, steps, steps // self.steps_per_epoch)


def build_classifier(taxonomy: Taxonomy, config: TrainConfig) -> keras.Model:
    if is_saved_model(config.backbone):
        path = saved_model_path(config.backbone)
        backbone = build_saved_model_backbone(
            path, config.image_size, config.backbone_input_range, trainable=config.train_from != "head"
        )
    else:
        backbone = build_backbone(config.image_size, variant=config.backbone)
        frozen = config.frozen_stages()
        for layer in backbone.layers:
            batch_norm = isinstance(layer, keras.layers.BatchNormalization)
            if (batch_norm and config.freeze_batch_norm) or layer.name.split("_")[0] in frozen:
                layer.trainable = False
    x = keras.layers.Dropout(config.dropout, name="dropout")(backbone.output)
    logits = keras.layers.Dense(len(taxonomy.leaves), name="leaf_logits")(x)
    # float32 under mixed precision too: the softmax and the loss need its range
    probabilities = keras.layers.Softmax(name="leaf_probabilities", dtype="float32")(logits)
    return keras.Model(backbone.input, probabilities, name="catalogist_classifier")


def compile_classifier(model: keras.Model, taxonomy: Taxonomy, config: TrainConfig, steps: int, peak: float):
    coarse_level = taxonomy.levels[-2] if len(taxonomy.levels) > 1 else taxonomy.levels[-1]
    total = steps * config.epochs
    warmup = int(steps * config.warmup_epochs)
    schedule = keras.optimizers.schedules.CosineDecay(
        peak / 20,
        max(total - warmup, 1),
        alpha=0.0,
        warmup_target=peak,
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


def load_trained(location, backbone: str) -> keras.Model:
    """A model a run of this project saved. One on a SavedModel backbone re-opens that SavedModel,
    which carries code of its own, so Keras wants it allowed: it is the backbone the run was asked
    to train, no other."""
    return keras.saving.load_model(location, safe_mode=not is_saved_model(backbone))


def float32_copy(model: keras.Model, taxonomy: Taxonomy, config: TrainConfig) -> keras.Model:
    """The trained model rebuilt in float32 with the trained weights: what is exported, whatever
    precision trained it."""
    keras.mixed_precision.set_dtype_policy("float32")
    twin = build_classifier(taxonomy, config)
    twin.set_weights(model.get_weights())
    return twin


def accelerator_plan(config: TrainConfig) -> Plan:
    if config.cpu_replicas:
        split_cpu(config.cpu_replicas)
    chosen = plan(
        local_gpus(),
        config.batch_size,
        config.learning_rate,
        config.precision,
        config.cpu_replicas,
        fixed_graph=is_saved_model(config.backbone),
    )
    log.info("training on %s", chosen.describe(), extra={"plan": chosen.__dict__})
    return chosen


def check_resumable(checkpoints: Checkpoints, config: TrainConfig, taxonomy: Taxonomy) -> None:
    """A checkpoint is continued only by the run that made it: same recipe, same tree."""
    saved_config = files.join(checkpoints.location, "config.json")
    if files.exists(saved_config):
        theirs = TrainConfig.load(saved_config)
        differing = {k: v for k, v in config.recipe_differences(theirs).items() if k not in EXPORT_FIELDS}
        if differing:
            raise ValueError(
                f"the checkpoint in {checkpoints.location} was trained with other settings "
                + ", ".join(f"{k}={theirs_value!r} (now {ours!r})" for k, (ours, theirs_value) in differing.items())
                + ": resume with those, or train into a new --out/--checkpoints"
            )
    saved_taxonomy = files.join(checkpoints.location, "taxonomy.json")
    if files.exists(saved_taxonomy) and json.loads(files.read_text(saved_taxonomy)) != taxonomy.to_json():
        raise ValueError(f"the checkpoint in {checkpoints.location} was trained on another category tree")


def train_classifier(run: RunPhotos, config: TrainConfig) -> Path | None:
    """Train (or resume) and return the path of the finished float Keras model; None when
    `max_steps` stopped it first (its checkpoint is saved)."""
    work = Path(config.out) / "work"
    work.mkdir(parents=True, exist_ok=True)
    final = work / "model.keras"
    if final.exists():
        return final
    chosen = accelerator_plan(config)
    strategy = strategy_for(chosen)
    keras.utils.set_random_seed(config.seed)
    if config.threads:
        tf.config.threading.set_intra_op_parallelism_threads(config.threads)
    checkpoints = Checkpoints(config.checkpoint_dir())
    state = checkpoints.latest()
    if state:
        check_resumable(checkpoints, config, run.taxonomy)
    for folder in {str(work), checkpoints.location}:
        files.write_text(files.join(folder, "config.json"), json.dumps(config.to_json(), indent=2) + "\n")
        files.write_text(files.join(folder, "taxonomy.json"), json.dumps(run.taxonomy.to_json(), indent=2) + "\n")
    started = time.time()

    training = combined([run.train, run.extra, repeated(run.iconic, config.iconic_copies)])
    if len(training) < chosen.global_batch:
        # A store's first exported reviews can be fewer photos than a batch: train on batches of
        # what there is (a whole number per replica) rather than refuse, and say so.
        fitted = len(training) // chosen.replicas * chosen.replicas
        if fitted == 0:
            raise ValueError(f"{len(training)} training photos cannot give each of {chosen.replicas} replicas one")
        log.warning("only %d training photos: batches of %d instead of %d", len(training), fitted, chosen.global_batch)
        chosen = replace(chosen, global_batch=fitted)
    steps = len(training) // chosen.global_batch
    skipped = Skipped()
    dataset = training_batches(
        training,
        run.taxonomy,
        cache_size=round(config.image_size * CACHE_MARGIN),
        image_size=config.image_size,
        batch_size=chosen.global_batch,
        augment=config.augment,
        seed=config.seed,
        skipped=skipped,
    )
    check = combined([run.val, run.holdout])  # none in a refit on every labelled photo
    # a step-limited run is a smoke or memory check: no pass over the check photos
    validate = len(check) > 0 and not config.max_steps
    validation = check_batches(check, run.taxonomy, config.image_size, CHECK_BATCH, skipped) if validate else None

    done_steps = state["steps_done"] if state and "steps_done" in state else (state or {}).get("epochs_done", 0) * steps
    done = done_steps // steps
    with strategy.scope():
        if state:
            model = load_trained(state["checkpoint"], config.backbone)
            log.info("resuming from %s (step %d, epoch %d)", state["checkpoint"], done_steps, done)
            # A checkpoint from within an epoch (--max-steps) goes on from the start of that
            # epoch, with the checkpoint's weights: Keras runs whole epochs, and the learning-rate
            # schedule must end where the last epoch does.
            model.optimizer.iterations.assign(done * steps)
        else:
            model = build_classifier(run.taxonomy, config)
            compile_classifier(model, run.taxonomy, config, steps, chosen.learning_rate)
    stop = StopAfter(config.max_steps) if config.max_steps else None
    callbacks = [
        ProgressBar(steps, config.epochs),
        Progress(steps * config.epochs, steps, chosen.global_batch, done_steps),
        SaveProgress(checkpoints, steps),
        keras.callbacks.CSVLogger(str(work / "history.csv"), append=True),
        keras.callbacks.TensorBoard(config.tensorboard_dir(), write_graph=False, update_freq=100, profile_batch=0),
        *([stop] if stop else []),
    ]
    if validate and config.patience:
        callbacks.append(keras.callbacks.EarlyStopping("val_fine_accuracy", patience=config.patience, mode="max"))
    if done < config.epochs and not (stop and done_steps >= config.max_steps):
        model.fit(
            dataset,
            epochs=config.epochs,
            initial_epoch=done,
            steps_per_epoch=steps,
            verbose=0,
            validation_data=validation,
            callbacks=callbacks,
            shuffle=False,  # the input pipeline shuffles
        )
        # fit's iterator over the endless training batches outlives fit in a reference cycle. Left
        # to the collection at interpreter exit, its destructor waits for photo decodes still in
        # flight (Python, under numpy_function) that can no longer take the GIL, and the process
        # hangs after its last line (a --max-steps run stops with the pipeline still filling).
        # Collected here, those decodes finish and the iterator goes.
        gc.collect()
    timing = {
        "train_seconds": round(time.time() - started, 1),
        "resumed_from_step": done_steps,
        "plan": chosen.__dict__,
        "photos_skipped": skipped.photos,
    }
    (work / "timing.json").write_text(json.dumps(timing, indent=1) + "\n")
    if len(skipped):
        log.warning("%d photos could not be decoded and were skipped", len(skipped), extra={"skipped": skipped.photos})
    if stop and int(model.optimizer.iterations.numpy()) >= config.max_steps:
        return None
    if done >= config.epochs:  # stopped after the last epoch but before saving: apply the moving average here
        model.optimizer.finalize_variable_values(model.trainable_weights)
    # fit swapped the moving-average weights in at the end
    (float32_copy(model, run.taxonomy, config) if chosen.mixed_precision else model).save(final)
    return final
