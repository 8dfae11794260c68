"""Files of a training run, on this machine or in a bucket (`gs://bucket/path`).

A remote location goes through TensorFlow's own file systems (`tf.io.gfile`): the ones `tf.data`
and Keras checkpoints use, so any location that trains also lists, reads and writes here, with
the credentials of the machine (a Vertex AI job's service account, `gcloud auth
application-default login` on a workstation). Local paths skip TensorFlow, so listing a dataset
costs no TensorFlow import. TensorFlow's GCS client always talks to storage.googleapis.com (the
storage emulator cannot stand in for it), so the tests use its in-memory `ram://` file system,
which takes the same remote code path.
"""

import posixpath
import shutil
from collections.abc import Iterator
from pathlib import Path


def is_remote(location: str) -> bool:
    return "://" in str(location)


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def join(base: str, *parts: str) -> str:
    """`base/parts...`; a part that is itself absolute (or remote) replaces what came before."""
    if is_remote(base) or any(is_remote(p) for p in parts):
        location = str(base)
        for part in parts:
            location = part if is_remote(part) or part.startswith("/") else posixpath.join(location, part)
        return location
    return str(Path(base, *parts))


def parent(location: str) -> str:
    return posixpath.dirname(location.rstrip("/")) if is_remote(location) else str(Path(location).parent)


def name(location: str) -> str:
    return posixpath.basename(location.rstrip("/")) if is_remote(location) else Path(location).name


def exists(location: str) -> bool:
    return _gfile().exists(location) if is_remote(location) else Path(location).exists()


def is_dir(location: str) -> bool:
    return _gfile().isdir(location) if is_remote(location) else Path(location).is_dir()


def read_bytes(location: str) -> bytes:
    if is_remote(location):
        with _gfile().GFile(location, "rb") as stream:
            return stream.read()
    return Path(location).read_bytes()


def read_text(location: str) -> str:
    return read_bytes(location).decode("utf-8")


def write_bytes(location: str, data: bytes) -> None:
    """Whole-file write: the file appears complete or not at all (written beside, renamed over),
    so a run stopped mid-write leaves the previous version readable."""
    if is_remote(location):
        gfile = _gfile()
        gfile.makedirs(parent(location))
        partial = location + ".partial"
        if gfile.exists(partial):
            gfile.remove(partial)  # TensorFlow's ram:// appends to an existing file rather than replacing it
        with gfile.GFile(partial, "wb") as stream:
            stream.write(data)
        gfile.rename(partial, location, overwrite=True)
        return
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    beside = path.with_name(path.name + ".partial")
    beside.write_bytes(data)
    beside.replace(path)


def write_text(location: str, text: str) -> None:
    write_bytes(location, text.encode("utf-8"))


def makedirs(location: str) -> None:
    if is_remote(location):
        _gfile().makedirs(location)
    else:
        Path(location).mkdir(parents=True, exist_ok=True)


def remove(location: str) -> None:
    """Delete a file or a folder with everything in it; nothing there is not an error."""
    if is_remote(location):
        if _gfile().isdir(location):
            _gfile().rmtree(location)
        elif _gfile().exists(location):
            _gfile().remove(location)
    elif Path(location).is_dir():
        shutil.rmtree(location)
    else:
        Path(location).unlink(missing_ok=True)


def walk_files(root: str) -> Iterator[str]:
    """Every file under `root`, at any depth, in sorted order."""
    if not is_remote(root):
        yield from (str(p) for p in sorted(Path(root).rglob("*")) if p.is_file())
        return
    found = []
    for folder, _subfolders, files in _gfile().walk(root):
        found += [join(folder, f) for f in files]
    yield from sorted(found)


def listdir(location: str) -> list[str]:
    if is_remote(location):
        return sorted(entry.rstrip("/") for entry in _gfile().listdir(location))
    return sorted(p.name for p in Path(location).iterdir())


def copy_tree(source: str, destination: str) -> None:
    """Every file under `source` (local or remote) to the same place under `destination`."""
    for file in walk_files(source):
        relative = file[len(source.rstrip("/")) + 1 :]
        write_bytes(join(destination, relative), read_bytes(file))
