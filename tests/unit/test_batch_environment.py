"""The batch pipelines' environment, kept apart from the function's and consistent with it: Beam
in batch/uv.lock and never in the function bundle, every library both use at the bundle's own
version but for what Beam forbids, the image built on the lock's Beam and Python, and the
template's parameters exactly what on_upload launches it with."""

from __future__ import annotations

import json
import re
import tomllib

from catalogist.imports.jobs import FILE_FORMAT, UPLOAD_ID
from catalogist.settings import JOB_FIELDS
from tests.support import REPO

BATCH = REPO / "batch"
# What Beam 2.77 refuses of the bundle's pins: protobuf 7 (it wants < 7) and, on Python 3.12,
# numpy 2.5 (it wants < 2.5).
BEAM_REFUSES = {"protobuf", "numpy"}


def bundle() -> dict[str, set[str]]:
    """The function bundle's pins (functions/requirements.txt, from the root lock)."""
    pins: dict[str, set[str]] = {}
    for line in (REPO / "functions" / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;]+)", line)
        if match:
            pins.setdefault(match.group(1).lower(), set()).add(match.group(2))
    return pins


def batch_lock() -> dict[str, set[str]]:
    lock = tomllib.loads((BATCH / "uv.lock").read_text())
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        if "version" in package:
            versions.setdefault(package["name"], set()).add(package["version"])
    return versions


def test_the_function_bundle_has_no_beam_and_the_batch_lock_has_it():
    assert not {"apache-beam", "pyarrow", "fastavro"} & set(bundle())
    assert batch_lock()["apache-beam"] == {"2.77.0"}


def test_the_pipelines_run_the_bundle_s_libraries_at_its_versions_but_what_beam_refuses():
    batch = batch_lock()

    differ = {name for name, versions in bundle().items() if not versions <= batch.get(name, set())}

    assert differ <= BEAM_REFUSES, differ
    assert batch["protobuf"] and all(int(v.split(".")[0]) < 7 for v in batch["protobuf"])
    assert all(int(v.split(".")[0]) < 3 for v in batch["python-dateutil"])


def test_the_image_is_built_on_the_lock_s_beam_and_python_and_starts_the_import_job():
    dockerfile = (BATCH / "Dockerfile").read_text()
    (beam,) = batch_lock()["apache-beam"]
    python = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]["python_version"]
    short = python.replace(".", "")

    assert f"FROM apache/beam_python{python}_sdk:{beam}" in dockerfile
    assert f"python{short}-template-launcher-base" in dockerfile
    assert "uv export --frozen --project batch --extra dataflow" in dockerfile
    assert "--require-hashes" in dockerfile
    assert "FLEX_TEMPLATE_PYTHON_PY_FILE=/catalogist/batch/catalogist_batch/import_job.py" in dockerfile
    assert (BATCH / "catalogist_batch" / "import_job.py").is_file()


def test_the_template_takes_exactly_what_on_upload_launches_it_with():
    metadata = json.loads((BATCH / "import-metadata.json").read_text())
    names = [parameter["name"] for parameter in metadata["parameters"]]
    required = [parameter["name"] for parameter in metadata["parameters"] if not parameter["isOptional"]]

    # the project is Dataflow's own option, never a parameter (adapters/dataflow.py drops it)
    assert sorted(names) == sorted({*JOB_FIELDS, UPLOAD_ID, FILE_FORMAT} - {"project"})
    assert required == [UPLOAD_ID]
