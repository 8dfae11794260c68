"""The same command plans its run for the machine it lands on: what the plan must be on this CPU,
on one GPU and on several, with or without fast float16."""

import pytest

from catalogist_training.accelerators import Gpu, plan

T4 = Gpu("Tesla T4", (7, 5))
K80 = Gpu("Tesla K80", (3, 7))


def test_without_a_gpu_the_recipe_runs_as_measured_on_the_cpu():
    chosen = plan([], batch_size=32, learning_rate=6e-4)

    assert (chosen.devices, chosen.replicas, chosen.mixed_precision) == (("CPU",), 1, False)
    assert (chosen.global_batch, chosen.learning_rate) == (32, 6e-4)


def test_several_gpus_each_take_a_batch_and_the_rate_grows_with_the_batch():
    chosen = plan([T4] * 4, batch_size=32, learning_rate=6e-4)

    assert chosen.replicas == 4 and chosen.global_batch == 128
    assert chosen.learning_rate == pytest.approx(4 * 6e-4)
    assert chosen.mixed_precision, "T4s compute float16 at full rate"


def test_gpus_without_fast_float16_train_in_float32():
    assert not plan([K80, K80], batch_size=32, learning_rate=6e-4).mixed_precision
    assert not plan([T4, K80], batch_size=32, learning_rate=6e-4).mixed_precision, "the slowest GPU decides"


def test_precision_can_be_forced_either_way():
    assert not plan([T4], 32, 6e-4, precision="float32").mixed_precision
    assert plan([], 32, 6e-4, precision="mixed_float16").mixed_precision
    with pytest.raises(ValueError, match="precision must be"):
        plan([], 32, 6e-4, precision="bfloat8")


def test_cpu_replicas_plan_the_multi_device_run_on_the_cpu():
    chosen = plan([], batch_size=16, learning_rate=1e-3, cpu_replicas=2)

    assert chosen.devices == ("CPU:0", "CPU:1") and chosen.global_batch == 32
    assert "2 replica(s) on CPU:0, CPU:1, float32, batch 32" in chosen.describe()


def test_a_saved_model_backbone_trains_in_float32_its_graph_is_fixed():
    assert not plan([T4], 32, 6e-4, fixed_graph=True).mixed_precision
    with pytest.raises(ValueError, match="SavedModel backbone"):
        plan([T4], 32, 6e-4, precision="mixed_float16", fixed_graph=True)
