"""What one machine offers training, and how a run uses it: the same `catalogist train classifier`
on this 2-core CPU, a GPU workstation or a Vertex AI VM with several GPUs.

- Several GPUs: one replica each (`MirroredStrategy`: every GPU runs the same step on its share
  of the batch and the gradients are summed), the batch grows with the replicas and the learning
  rate with the batch (linear scaling; the recipe's warmup is what keeps a larger rate stable).
- GPUs that compute in float16 at full rate (compute capability 7.0 and above: T4, V100, A100,
  L4): mixed precision, float16 compute with float32 weights; Keras scales the loss so small
  gradients survive float16. The model's last layer stays float32, and the model is exported
  from a float32 copy, so the release is the same either way.
- No GPU: the CPU, one replica, float32: the recipe as measured in docs/experiments.md.

`cpu_replicas` splits the CPU into several logical devices under `MirroredStrategy`, so the
multi-replica path runs (slowly) where no GPU is: before renting GPUs, and in the tests.
"""

from dataclasses import dataclass

MIXED_PRECISION_FROM = (7, 0)  # compute capability with float16 tensor cores


@dataclass(frozen=True)
class Gpu:
    name: str
    compute_capability: tuple[int, int] | None


@dataclass(frozen=True)
class Plan:
    devices: tuple[str, ...]  # what the replicas run on: ("CPU",) or the GPUs' names
    replicas: int
    mixed_precision: bool
    global_batch: int
    learning_rate: float

    def describe(self) -> str:
        precision = "mixed float16" if self.mixed_precision else "float32"
        return (
            f"{self.replicas} replica(s) on {', '.join(self.devices)}, {precision}, "
            f"batch {self.global_batch}, learning rate {self.learning_rate:g}"
        )


def plan(
    gpus: list[Gpu],
    batch_size: int,
    learning_rate: float,
    precision: str = "auto",
    cpu_replicas: int = 0,
    fixed_graph: bool = False,
) -> Plan:
    """How to train on these GPUs (none: the CPU); `batch_size` and `learning_rate` are the
    recipe's, for one replica. `precision` is auto, float32 or mixed_float16. `fixed_graph`: the
    backbone is a SavedModel, whose graph computes in the types it was saved with, so mixed
    precision would only touch the last layer."""
    if fixed_graph and precision == "mixed_float16":
        raise ValueError("a SavedModel backbone computes in the precision it was saved in: train it in float32")
    if precision not in ("auto", "float32", "mixed_float16"):
        raise ValueError(f"precision must be auto, float32 or mixed_float16, not {precision!r}")
    if gpus:
        replicas = len(gpus)
        devices = tuple(g.name for g in gpus)
        float16_fast = all(
            g.compute_capability is not None and g.compute_capability >= MIXED_PRECISION_FROM for g in gpus
        )
    else:
        replicas = max(cpu_replicas, 1)
        devices = tuple(f"CPU:{i}" for i in range(replicas)) if cpu_replicas else ("CPU",)
        float16_fast = False  # CPUs emulate float16: slower, never faster
    mixed = precision == "mixed_float16" or (precision == "auto" and float16_fast and not fixed_graph)
    return Plan(devices, replicas, mixed, batch_size * replicas, learning_rate * replicas)


def local_gpus() -> list[Gpu]:
    import tensorflow as tf

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        found.append(Gpu(details.get("device_name", device.name), details.get("compute_capability")))
    return found


def split_cpu(replicas: int) -> None:
    """Make `replicas` logical CPU devices (once); TensorFlow allows it only before its first
    use of a device, so the command line does it before anything else."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or ()) == replicas:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError:
        raise RuntimeError(
            f"cannot split the CPU into {replicas} devices: TensorFlow already started (split it first thing)"
        ) from None


def strategy_for(chosen: Plan):
    """The distribution strategy of a plan: the default one for a single replica."""
    import keras
    import tensorflow as tf

    keras.mixed_precision.set_dtype_policy("mixed_float16" if chosen.mixed_precision else "float32")
    if chosen.replicas == 1:
        return tf.distribute.get_strategy()
    if chosen.devices[0].startswith("CPU:"):
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(chosen.replicas)])
    return tf.distribute.MirroredStrategy()
