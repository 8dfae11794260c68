"""Read a PyTorch state dict without PyTorch, and without trusting the file.

`torch.load` is a general unpickler: a checkpoint can name any global (`os.system`) and pickle
will call it. This reader accepts only the globals a plain state dict needs and rebuilds the
tensors as numpy arrays. Both of PyTorch's layouts are read: the legacy stream (magic number,
pickles, then raw storages) and the zip archive of newer versions.

    python -m catalogist_training.torch_pickle PATH   # prints each tensor's name and shape
"""

import collections
import io
import pickle
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class ForbiddenGlobal(pickle.UnpicklingError):
    """The checkpoint names a global outside the allow-list: it may run code, so it is refused."""


@dataclass(frozen=True)
class StorageType:
    """Stands in for `torch.FloatStorage` and friends: only the element type matters here."""

    dtype: Any


class Storage:
    """A flat buffer filled after unpickling (legacy) or from a zip member (new format)."""

    def __init__(self, dtype: Any, numel: int) -> None:
        self.dtype = np.dtype(dtype)
        self.numel = numel
        self.array: np.ndarray | None = None


@dataclass(frozen=True)
class LazyTensor:
    """A tensor whose storage bytes may not have been read yet when the pickle names it."""

    storage: Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def materialize(self) -> np.ndarray:
        if self.storage.array is None:
            raise pickle.UnpicklingError("a tensor refers to a storage that the file never holds")
        flat = self.storage.array[self.offset :]
        itemsize = flat.dtype.itemsize
        strides = tuple(s * itemsize for s in self.stride)
        return np.lib.stride_tricks.as_strided(flat, self.shape, strides).copy()


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_rest) -> LazyTensor:
    return LazyTensor(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, _requires_grad, _hooks) -> Any:
    return data


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): StorageType(dtype) for name, dtype in STORAGE_DTYPES.items()},
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose `find_class` knows only `ALLOWED_GLOBALS`."""

    def __init__(self, file: BinaryIO, storages: dict[str, Storage], zip_loader=None) -> None:
        super().__init__(file)
        self._storages = storages
        self._zip_loader = zip_loader

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise ForbiddenGlobal(f"refusing {module}.{name}: a weights file may only hold tensors and dicts") from None

    def persistent_load(self, pid: Any) -> Storage:
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1], str(pid[2]), pid[3], int(pid[4])
        if not isinstance(storage_type, StorageType):
            raise pickle.UnpicklingError(f"unexpected storage type {storage_type!r}")
        if key not in self._storages:
            storage = Storage(storage_type.dtype, numel)
            if self._zip_loader is not None:
                storage.array = self._zip_loader(key, storage.dtype)
            self._storages[key] = storage
        return self._storages[key]


def _materialize(obj: Any) -> Any:
    if isinstance(obj, LazyTensor):
        return obj.materialize()
    if isinstance(obj, dict):
        return type(obj)((k, _materialize(v)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_materialize(v) for v in obj)
    return obj


def _load_legacy(stream: BinaryIO) -> Any:
    header = RestrictedUnpickler(stream, {})
    if header.load() != LEGACY_MAGIC:
        raise pickle.UnpicklingError("not a PyTorch checkpoint (bad magic number)")
    RestrictedUnpickler(stream, {}).load()  # protocol version
    RestrictedUnpickler(stream, {}).load()  # sys info: endianness and type sizes
    storages: dict[str, Storage] = {}
    result = RestrictedUnpickler(stream, storages).load()
    keys = RestrictedUnpickler(stream, {}).load()
    for key in keys:
        storage = storages[str(key)]
        numel = int(np.frombuffer(stream.read(8), "<i8")[0])
        raw = stream.read(numel * storage.dtype.itemsize)
        if len(raw) != numel * storage.dtype.itemsize:
            raise pickle.UnpicklingError(f"storage {key} is truncated")
        storage.array = np.frombuffer(raw, storage.dtype.newbyteorder("<"))
    return _materialize(result)


def _load_zip(archive: zipfile.ZipFile) -> Any:
    names = archive.namelist()
    root = names[0].split("/")[0]

    def read_storage(key: str, dtype: np.dtype) -> np.ndarray:
        return np.frombuffer(archive.read(f"{root}/data/{key}"), dtype.newbyteorder("<"))

    with archive.open(f"{root}/data.pkl") as stream:
        result = RestrictedUnpickler(io.BytesIO(stream.read()), {}, read_storage).load()
    return _materialize(result)


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Tensors of a PyTorch checkpoint as numpy arrays, refusing anything but plain data."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            state = _load_zip(archive)
    else:
        with open(path, "rb") as stream:
            state = _load_legacy(stream)
    if not isinstance(state, dict):
        raise pickle.UnpicklingError(f"{path} holds a {type(state).__name__}, not a state dict")
    return dict(state)


if __name__ == "__main__":
    for name, array in load_state_dict(Path(sys.argv[1])).items():
        print(f"{name:50s} {array.shape}")
