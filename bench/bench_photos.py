"""Photo path figures, measured side by side in one run.

    .venv/bin/python bench/bench_photos.py [--release models/classifier] \
        [--keras artifacts/classifier/work/model.keras] [--photos 200] [--stack-photos 100]
    .venv/bin/python bench/bench_photos.py --smoke    # every part at tiny size: it runs, figures meaningless

1. Cold start: a fresh process from its first import to its first decision, and its peak memory
   (ru_maxrss): the function (functions/main.py imported, model loaded from the release, one
   photo classified) versus the same network served from a TensorFlow SavedModel. Each with its
   imports' bytecode already compiled (as a deployed bundle has it: pip writes .pyc files when it
   installs) and without (every import compiled from source again, as in an environment
   installed with PYTHONDONTWRITEBYTECODE set). Both read bytecode from their own
   PYTHONPYCACHEPREFIX folder, so the figures do not depend on how .venv was installed.
   The SavedModel is exported from `--keras` (the float model `catalogist train classifier`
   writes); without one, from the same network built with the ImageNet backbone and an
   untrained head: the weights' values change neither load time nor memory, so the comparison
   holds, and a fresh clone can run it.
2. Per photo, decode to decision on one thread, for 1-megapixel JPEGs: p50 and p95, with
   Pillow's JPEG draft mode (what the function does) and without it.
3. Photos per second through the local stack end to end (upload → product document).
4. Installed size of the function's runtime dependencies, and of the same plus TensorFlow.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from catalogist.models.kinds import CLASSIFIER

REPO = Path(__file__).resolve().parents[1]
GROCERY = REPO.parent / "shared" / "datasets" / "grocerystore"
PYTHON = sys.executable

FUNCTION_COLD_START = """
import time, resource, sys
started = time.perf_counter()
sys.path.insert(0, {functions!r})
import main  # the deployed entry points: functions-framework, both Google clients, settings
from pathlib import Path
from catalogist.models.kinds import CLASSIFIER
from catalogist.wiring import opener
classifier = opener(CLASSIFIER, main.SETTINGS)(Path({release!r}))  # as the function opens its release
decision = classifier.classify(open({photo!r}, "rb").read())
elapsed = time.perf_counter() - started
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "/".join(decision.category_path))
"""

TENSORFLOW_COLD_START = """
import time, resource
started = time.perf_counter()
import numpy as np
import tensorflow as tf
from PIL import Image
model = tf.saved_model.load({saved!r})
serve = model.signatures["serving_default"]
image = Image.open({photo!r}).convert("RGB").resize(({size}, {size}))
outputs = serve(tf.constant(np.asarray(image, np.float32)[None]))
probabilities = list(outputs.values())[0].numpy()[0]
elapsed = time.perf_counter() - started
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, int(probabilities.argmax()))
"""

# Run in a process of its own, so this one never imports TensorFlow (the per-photo figures would
# share its memory and threads).
EXPORT_SAVED_MODEL = """
import sys
from pathlib import Path
import keras
keras_file, taxonomy, backbone, size, saved = sys.argv[1:]
if keras_file:
    model = keras.saving.load_model(keras_file, compile=False)
else:
    from catalogist.models.taxonomy import Taxonomy
    from catalogist_training.config import TrainConfig
    from catalogist_training.train_classifier import build_classifier
    config = TrainConfig(data="", out="", backbone=backbone, image_size=int(size))
    model = build_classifier(Taxonomy.load(Path(taxonomy)), config)
model.export(saved, format="tf_saved_model", verbose=False)
"""
TRAIN_COMMAND = "catalogist train classifier --data ../shared/datasets/grocerystore --out artifacts/classifier"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def function_env(pycache: Path | None = None) -> dict[str, str]:
    """The function's settings; with `pycache`, bytecode is read from there and never written."""
    environment = {
        **os.environ,
        "GOOGLE_CLOUD_PROJECT": "bench",
        "CATALOGIST_UPLOADS_BUCKET": "uploads",
        "CATALOGIST_MODELS_BUCKET": "models",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "OMP_NUM_THREADS": "1",
    }
    if pycache is not None:
        environment.update(PYTHONPYCACHEPREFIX=str(pycache), PYTHONDONTWRITEBYTECODE="1")
    return environment


def run_script(script: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, env=environment, check=False)
    if done.returncode != 0:
        raise SystemExit(f"a cold-start process failed (exit code {done.returncode}):\n{done.stderr[-3000:]}")
    return done


def cold_start(script: str, runs: int, pycache: Path) -> tuple[float, float, float, str]:
    """Median seconds inside the process, median wall seconds, peak MB, and the answer."""
    inside, wall, peak, answer = [], [], [], ""
    for _ in range(runs):
        started = time.perf_counter()
        done = run_script(script, function_env(pycache))
        wall.append(time.perf_counter() - started)
        seconds, rss_kb, answer = done.stdout.strip().splitlines()[-1].split(" ", 2)
        inside.append(float(seconds))
        peak.append(int(rss_kb) / 1024)
    return statistics.median(inside), statistics.median(wall), max(peak), answer


def one_megapixel_jpegs(count: int) -> list[bytes]:
    from PIL import Image

    from catalogist_training.datasets import load_grocery_store

    photos = load_grocery_store(GROCERY, "val")[:: max(1, 296 // count)][:count]
    encoded = []
    for photo in photos:
        image = Image.open(photo.path).convert("RGB").resize((1155, 866), Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        encoded.append(buffer.getvalue())
    return encoded


def per_photo(release: Path, photos: list[bytes], invokes: int) -> None:
    import numpy as np
    from PIL import Image

    from catalogist.imaging import photo_pixels, preprocess
    from catalogist.models.classifier import TTA_VIEWS, PhotoClassifier

    classifier = PhotoClassifier.open(release, num_threads=1)
    size = classifier.image_size

    def served(photo: bytes) -> np.ndarray:
        return photo_pixels(photo, size)

    def without_draft(photo: bytes) -> np.ndarray:
        image = Image.open(io.BytesIO(photo))
        image.load()
        return preprocess(image.convert("RGB"), size)

    for label, pixels in (("draft decode (served)", served), ("full decode", without_draft)):
        timings, decode = [], []
        for photo in photos:
            started = time.perf_counter()
            x = pixels(photo)
            decoded = time.perf_counter()
            classifier.taxonomy.decide(classifier.probabilities(x))
            timings.append((time.perf_counter() - started) * 1000)
            decode.append((decoded - started) * 1000)
        print(
            f"  {label:<22} decode→decision p50 {percentile(timings, 0.5):6.1f} ms, "
            f"p95 {percentile(timings, 0.95):6.1f} ms (decode+resize p50 {percentile(decode, 0.5):5.1f} ms)"
        )
    # Test-time views (#29): each averages the network over more views of the same decode, so
    # its cost is the views' invokes on top of one decode; the target is p50 <= 40 ms per 1 MP.
    for views in TTA_VIEWS:
        viewed = PhotoClassifier.open(release, num_threads=1, tta=views)
        timings = []
        for photo in photos:
            started = time.perf_counter()
            viewed.taxonomy.decide(viewed.probabilities(served(photo)))
            timings.append((time.perf_counter() - started) * 1000)
        served_note = "  (the release serves these)" if views == classifier.tta else ""
        print(
            f"  views {views:<16} decode→decision p50 {percentile(timings, 0.5):6.1f} ms, "
            f"p95 {percentile(timings, 0.95):6.1f} ms{served_note}"
        )
    invoke = []
    x = served(photos[0])
    for _ in range(invokes):
        started = time.perf_counter()
        classifier.probabilities(x)
        invoke.append((time.perf_counter() - started) * 1000)
    print(f"  LiteRT int8 invoke alone p50 {percentile(invoke, 0.5):.1f} ms ({size} px input)")


def through_stack(release: Path, photos: list[bytes]) -> None:

    from catalogist_infra.stack import (
        Stack,
        StackConfig,
        finished_uploads,
        firestore_client,
        storage_client,
        wait_until,
    )

    with tempfile.TemporaryDirectory() as data_dir:
        config = StackConfig.on_free_ports(Path(data_dir))
        config.function_env["CATALOGIST_CLASSIFIER_RELEASE"] = str(release.resolve())
        stack = Stack(config)
        stack.start()
        try:
            bucket = storage_client(config).bucket(config.uploads_bucket)
            documents = firestore_client(config)
            warm = bucket.blob("bench/WARM.jpg")
            warm.upload_from_string(photos[0], content_type="image/jpeg")  # model load not counted
            warmed = wait_until(lambda: finished_uploads(documents, bucket.name, [warm]), 120)
            if not warmed or warmed[warm.name]["status"] != "done":
                raise SystemExit(f"the warm-up photo did not finish as done: {warmed}")
            started = time.perf_counter()
            blobs = []
            for number, photo in enumerate(photos):
                blob = bucket.blob(f"bench/P{number:04d}.jpg")
                blob.upload_from_string(photo, content_type="image/jpeg")
                blobs.append(blob)
            entries = wait_until(lambda: finished_uploads(documents, bucket.name, blobs), 600, interval=0.5)
            elapsed = time.perf_counter() - started
            if entries is None or any(e["status"] != "done" for e in entries.values()):
                raise SystemExit("not every photo was categorized within 600 s")
            documents.close()
        finally:
            stack.stop()
    print(
        f"  {len(photos)} photos of 1 MP, uploaded one after another: {elapsed:.1f} s, "
        f"{len(photos) / elapsed:.1f} photos/s end to end (upload → product document)"
    )


def installed_size() -> None:
    uv = REPO / ".cache" / "uv" / "bin" / "uv"
    if not uv.exists():
        print(f"  skipped: no uv at {uv} (`make install` puts it there)")
        return
    with tempfile.TemporaryDirectory() as folder:
        sizes = {}
        for label, extra in (
            ("runtime (functions/requirements.txt)", []),
            ("runtime + tensorflow", ["tensorflow==2.21.0"]),
        ):
            target = Path(folder) / label.split()[0].replace("+", "tf")
            subprocess.run(
                [
                    str(uv),
                    "pip",
                    "install",
                    "--quiet",
                    "--target",
                    str(target),
                    "--python",
                    PYTHON,
                    "-r",
                    str(REPO / "functions" / "requirements.txt"),
                    *extra,
                ],
                check=True,
            )
            sizes[label] = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) / 1e6
        base = sizes["runtime (functions/requirements.txt)"]
        for label, size in sizes.items():
            print(f"  {label:<38} {size:8.0f} MB  ({size / base:.1f}x)")


def saved_model(keras_file: Path, release: Path, manifest: dict, into: Path) -> Path | None:
    """The float network as a TensorFlow SavedModel, or None and a line saying why."""
    if keras_file.exists():
        print(f" TensorFlow side: the float model {keras_file}")
    else:
        print(
            f" TensorFlow side: no float model at {keras_file} (`{TRAIN_COMMAND}` writes it), so the same "
            "network built from the ImageNet backbone with an untrained head (weights' values change "
            "neither load time nor memory)"
        )
    saved = into / "saved_model"
    done = subprocess.run(
        [
            PYTHON,
            "-c",
            EXPORT_SAVED_MODEL,
            str(keras_file) if keras_file.exists() else "",
            str(release / "taxonomy.json"),
            manifest.get("config", {}).get("backbone", "lite0"),
            str(manifest["image_size"]),
            str(saved),
        ],
        env=function_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(
            f" skipped the TensorFlow side: exporting a SavedModel failed ({last}). It needs the train "
            f"dependencies (`make install`); `{TRAIN_COMMAND}` writes the float model "
            "artifacts/classifier/work/model.keras, or pass --keras"
        )
        return None
    return saved


BYTECODE = {"compiled": "bytecode compiled", "none": "no bytecode"}


def cold_starts(
    release: Path, keras_file: Path, manifest: dict, photo: bytes, runs: int, bytecode: list[str], scratch: Path
) -> None:
    sample = scratch / "photo.jpg"
    sample.write_bytes(photo)
    print(f"cold start, fresh process, first import to first decision (median of {runs}; peak RSS):")
    sides = {
        "function (LiteRT int8)": FUNCTION_COLD_START.format(
            functions=str(REPO / "functions"), release=str(release), photo=str(sample)
        )
    }
    saved = saved_model(keras_file, release, manifest, scratch)
    if saved is not None:
        sides["TensorFlow SavedModel"] = TENSORFLOW_COLD_START.format(
            saved=str(saved), photo=str(sample), size=manifest["image_size"]
        )
    folders = {"compiled": scratch / "compiled", "none": scratch / "none"}
    if "compiled" in bytecode:
        for warm_up in sides.values():  # one run writes the .pyc files of what it imports
            environment = {**function_env(), "PYTHONPYCACHEPREFIX": str(folders["compiled"])}
            environment.pop("PYTHONDONTWRITEBYTECODE", None)
            run_script(warm_up, environment)
    function_seconds = {}
    for variant in bytecode:
        figures = {label: cold_start(script, runs, folders[variant]) for label, script in sides.items()}
        print(f" {BYTECODE[variant]}:")
        for label, (inside, wall, peak, _) in figures.items():
            print(f"  {label:<24} {inside:5.2f} s in process, {wall:5.2f} s wall, peak {peak:6.0f} MB")
        ours = figures["function (LiteRT int8)"]
        if "TensorFlow SavedModel" in figures:
            theirs = figures["TensorFlow SavedModel"]
            print(f"  ratio TensorFlow / function: {theirs[0] / ours[0]:.1f}x time, {theirs[2] / ours[2]:.1f}x memory")
        function_seconds[variant] = ours[0]
    if len(function_seconds) == len(BYTECODE):
        ratio = function_seconds["none"] / function_seconds["compiled"]
        print(f" compiling imports at start costs the function {ratio:.1f}x its cold start")


# Tiny sizes: every part runs in seconds (a test runs it); its figures mean nothing.
# Without bytecode, no warm-up run is needed: TensorFlow's import alone is most of a smoke run.
SMOKE = {"photos": 4, "stack_photos": 2, "cold_runs": 1, "bytecode": ["none"], "invokes": 5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release", type=Path, default=REPO / "models" / "classifier")
    parser.add_argument("--keras", type=Path, default=REPO / "artifacts" / "classifier" / "work" / "model.keras")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--stack-photos", type=int, default=100)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument(
        "--bytecode", nargs="+", default=list(BYTECODE), choices=list(BYTECODE), help="cold starts with and without"
    )
    parser.add_argument("--invokes", type=int, default=200, help="LiteRT invocations timed alone")
    parser.add_argument("--skip", nargs="*", default=[], choices=["cold", "latency", "stack", "size"])
    parser.add_argument("--smoke", action="store_true", help=f"tiny sizes ({SMOKE}): checks that it runs")
    args = parser.parse_args()
    if args.smoke:  # the smoke sizes replace the defaults; flags given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args()
    release = CLASSIFIER.release_in(args.release).resolve()
    manifest = json.loads((release / "manifest.json").read_text())
    print(
        f"release {manifest['version']} ({manifest['model_bytes'] / 1e6:.2f} MB int8, "
        f"{manifest['image_size']} px) on {os.cpu_count()} cores"
    )
    photos = one_megapixel_jpegs(args.photos)
    with tempfile.TemporaryDirectory() as scratch:
        if "cold" not in args.skip:
            cold_starts(release, args.keras, manifest, photos[0], args.cold_runs, args.bytecode, Path(scratch))
        if "latency" not in args.skip:
            print(f"per photo on one thread, {len(photos)} JPEGs of 1155x866 (1.0 MP):")
            per_photo(release, photos, args.invokes)
        if "stack" not in args.skip:
            print(f"through the local stack ({os.cpu_count()} cores shared by emulators, bridge and function):")
            through_stack(release, photos[: args.stack_photos])
        if "size" not in args.skip:
            print("installed size:")
            installed_size()


if __name__ == "__main__":
    main()
