"""Training input at scale (#25): memory and speed of feeding photos to the classifier, by size.

    .venv/bin/python bench/bench_training.py                    # 2,640, 20,000 and 60,000 photos
    .venv/bin/python bench/bench_training.py --sizes 2640 --steps 20
    .venv/bin/python bench/bench_training.py --smoke            # tiny sizes and network, for the test suite

The photos are synthetic at every size, made the same way: the Grocery Store training photos
re-encoded (JPEG quality 88, each copy cropped a few pixels differently so no two are the same
bytes) under N/30 class folders, two levels deep, in the folder-tree layout `load_split` reads.

Measured side by side, each part in a fresh process of its own (peak RSS is the child's VmHWM,
polled; the parent never imports TensorFlow):

1. Decoding every photo once at the training cache size (258 px for 224 px training):
   - "today's loop": the single-threaded loop training used before streaming (prepare.load_pixels
     at f826a6c, re-created below as it was), filling one N×258×258×3 uint8 array;
   - "streamed": the tf.data pipeline training reads through now (`input_pipeline.decoded`).
2. `catalogist train classifier --max-steps S` at each size: seconds from start to the first
   optimizer step, peak RSS and its ratio to the smallest size, steps per second.
3. How long model steps wait on input: the release recipe's model and optimizer fed by the
   streamed pipeline, with `next(batch)` timed apart from the step, at the smallest size.

The machine may be shared (other jobs): figures are side by side from one run, which is what a
ratio needs; absolute photos/s are this 2-core machine's.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GROCERY = REPO.parent / "shared" / "datasets" / "grocerystore"
PER_CLASS = 30
CACHE = 258  # round(224 * 1.15): what training decodes to before its random crops


def make_photos(count: int, out: Path) -> Path:
    """`count` re-encoded training photos under count/PER_CLASS class folders (out/train/...)."""
    from PIL import Image

    sources = sorted((GROCERY / "train").rglob("*.jpg"))
    classes = max(count // PER_CLASS, 2)
    for i in range(count):
        image = Image.open(sources[i % len(sources)]).convert("RGB")
        shift = i // len(sources)  # each pass over the sources crops a little differently
        w, h = image.size
        image = image.crop((shift % 7, shift % 5, w - (shift % 3), h - (shift % 11)))
        category = i % classes
        folder = out / "train" / f"Group{category // 40:03d}" / f"Class{category:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=88)
        (folder / f"p{i:06d}.jpg").write_bytes(buffer.getvalue())
    return out


# --- children: each measured part runs in a process of its own -------------------------------


def child_old_loop(data: Path) -> dict:
    """Training's decode before streaming: one thread, one array holding every photo."""
    import numpy as np

    from catalogist.imaging import photo_pixels
    from catalogist_training.datasets import load_split

    photos = load_split(str(data), "train")
    started = time.perf_counter()
    pixels = np.zeros((len(photos), CACHE, CACHE, 3), np.uint8)
    for i, photo in enumerate(photos):
        pixels[i] = photo_pixels(Path(photo.path).read_bytes(), CACHE)
    return {"photos": len(photos), "seconds": time.perf_counter() - started}


def child_streamed(data: Path) -> dict:
    from catalogist.models.taxonomy import Taxonomy
    from catalogist_training.datasets import load_split
    from catalogist_training.input_pipeline import Skipped, decoded
    from catalogist_training.photo_sets import ListedPhotos

    photos = ListedPhotos(tuple(load_split(str(data), "train")))
    taxonomy = Taxonomy.from_paths([p.category_path for p in photos.photos])
    started = time.perf_counter()
    seen = 0
    for _pixels, labels in decoded(photos.dataset(shuffle_seed=1), taxonomy, CACHE, Skipped()).batch(32):
        seen += len(labels)
    return {"photos": seen, "seconds": time.perf_counter() - started}


def child_tiny_backbone(folder: Path) -> dict:
    """The smoke run's network: a tiny SavedModel, so the smoke proves the bench's steps run
    without building EfficientNet-Lite0 twice (the classifier smoke trains that one)."""
    from catalogist_training.backbone import tiny_saved_model

    return {"backbone": str(tiny_saved_model(folder))}


def child_input_wait(data: Path, steps: int, image_size: int, batch: int, backbone: str) -> dict:
    """Model steps of the release recipe fed by the streamed pipeline: time in next() apart."""
    from catalogist_training.config import TrainConfig
    from catalogist_training.input_pipeline import Skipped, training_batches
    from catalogist_training.prepare import prepare_photos
    from catalogist_training.train_classifier import build_classifier, compile_classifier

    config = TrainConfig(
        data=str(data),
        out="",
        image_size=image_size,
        batch_size=batch,
        iconic_copies=0,
        backbone=backbone,
    )
    run = prepare_photos(config)
    batches = iter(
        training_batches(
            run.train,
            run.taxonomy,
            cache_size=round(image_size * 1.15),
            image_size=image_size,
            batch_size=batch,
            augment=config.augment,
            seed=1,
            skipped=Skipped(),
        )
    )
    model = build_classifier(run.taxonomy, config)
    compile_classifier(model, run.taxonomy, config, max(len(run.train) // batch, 1), config.learning_rate)

    waited = stepped = 0.0
    for i in range(steps + 3):  # the first steps trace and warm up: not counted
        t0 = time.perf_counter()
        x, y = next(batches)
        t1 = time.perf_counter()
        model.train_on_batch(x, y)  # the compiled step fit runs
        t2 = time.perf_counter()
        if i >= 3:
            waited += t1 - t0
            stepped += t2 - t0
    return {"steps": steps, "wait_seconds": waited, "total_seconds": stepped}


def run_child(args: list[str]) -> tuple[dict, float]:
    """(the child's JSON answer, its peak RSS in MB): VmHWM polled, so the child's own peak."""
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, stderr=errors, text=True
        )
        peak = poll_peak(process)
        out = process.stdout.read() if process.stdout else ""
        if process.wait() != 0:
            errors.seek(0)
            raise SystemExit(f"child {args} failed:\n{errors.read()[-3000:]}")
    return json.loads(out.strip().splitlines()[-1]), peak


def poll_peak(process: subprocess.Popen, every: float = 0.2) -> float:
    peak = 0.0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peak = max(peak, int(status.split("VmHWM:")[1].split()[0]) / 1024)
        except (FileNotFoundError, IndexError, ProcessLookupError):
            pass
        time.sleep(every)
    return peak


def train_with_max_steps(data: Path, out: Path, steps: int, extra: list[str]) -> dict:
    """`catalogist train classifier --max-steps`: first step, peak RSS, steps/s."""
    command = [
        str(Path(sys.executable).with_name("catalogist")), "train", "classifier", "--data", str(data),
        "--out", str(out), "--max-steps", str(steps), "--iconic-copies", "0", *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    arrived: list[tuple[float, str]] = []  # (seconds since start, line) as the child prints them

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            arrived.append((time.perf_counter() - started, line))

    reader = threading.Thread(target=read)
    reader.start()
    peak = poll_peak(process)
    reader.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{''.join(line for _, line in arrived[-30:])}")
    firsts = [at for at, line in arrived if '"first step"' in line]
    ends = [at for at, line in arrived if '"epoch finished"' in line]
    # steps after the first (which traces the graph), over the time they took
    rate = (steps - 1) / (ends[-1] - firsts[0]) if firsts and ends and ends[-1] > firsts[0] else None
    return {"first_step_seconds": firsts[0] if firsts else None, "peak_mb": peak, "steps_per_second": rate}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2640,20000,60000", help="photo counts, comma-separated")
    parser.add_argument("--steps", type=int, default=50, help="optimizer steps of each training run")
    parser.add_argument("--old-loop-up-to", type=int, default=20000, help="largest size today's loop is run at")
    parser.add_argument("--work", type=Path, help="where the synthetic photos go (default: a temporary folder)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and models: proves the bench runs")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, data, *rest = args.child
        answer = {
            "old": lambda: child_old_loop(Path(data)),
            "streamed": lambda: child_streamed(Path(data)),
            "wait": lambda: child_input_wait(Path(data), *map(int, rest[:3]), rest[3]),
            "backbone": lambda: child_tiny_backbone(Path(data)),
        }[kind]()
        print(json.dumps(answer))
        return 0

    sizes = [48] if args.smoke else [int(s) for s in args.sizes.split(",")]
    steps = 3 if args.smoke else args.steps
    image, batch = (64, 8) if args.smoke else (224, 32)
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        root = Path(tmp)
        backbone = run_child(["backbone", str(root / "backbone")])[0]["backbone"] if args.smoke else "lite0"
        network = "a tiny SavedModel (smoke)" if args.smoke else backbone
        # the release recipe, the whole network trained (`--train-from stem`, the default)
        train_flags = ["--image-size", str(image), "--batch-size", str(batch), "--backbone", backbone]
        print(f"photos: the Grocery Store training photos re-encoded under N/{PER_CLASS} class folders")
        print(f"machine: {os.cpu_count()} cores")
        print()
        print("1. Decoding every photo once at 258 px (training's cache size)")
        print(
            f"{'photos':>8} | {'today: photos/s':>15} | {'today: peak RSS':>15} | "
            f"{'streamed: photos/s':>18} | {'streamed: peak RSS':>18} | speed-up"
        )
        datasets = {}
        for size in sizes:
            started = time.perf_counter()
            datasets[size] = make_photos(size, root / f"photos-{size}")
            made = time.perf_counter() - started
            streamed, streamed_peak = run_child(["streamed", str(datasets[size])])
            streamed_rate = streamed["photos"] / streamed["seconds"]
            if size <= args.old_loop_up_to:
                old, old_peak = run_child(["old", str(datasets[size])])
                old_rate = old["photos"] / old["seconds"]
                today = f"{old_rate:>15.0f} | {old_peak:>12.0f} MB"
                ratio = f"{streamed_rate / old_rate:.2f}×"
            else:
                array_gb = size * CACHE * CACHE * 3 / 1e9
                today = f"{'not run':>15} | {f'≥ {array_gb:.1f} GB':>15}"
                ratio = "–"
            streamed_text = f"{streamed_rate:>18.0f} | {streamed_peak:>15.0f} MB"
            print(f"{size:>8} | {today} | {streamed_text} | {ratio}   (photos made in {made:.0f} s)")
        print()
        print(f"2. catalogist train classifier --max-steps {steps} ({image} px, batch {batch}, {network}, CPU)")
        print(f"{'photos':>8} | {'first step after':>16} | {'peak RSS':>9} | {'× smallest':>10} | steps/s")
        smallest = None
        for size in sizes:
            found = train_with_max_steps(datasets[size], root / f"run-{size}", steps, train_flags)
            smallest = smallest or found["peak_mb"]
            rate = f"{found['steps_per_second']:.2f}" if found["steps_per_second"] else "–"
            first = f"{found['first_step_seconds']:.0f} s" if found["first_step_seconds"] else "–"
            print(
                f"{size:>8} | {first:>16} | {found['peak_mb']:>6.0f} MB | {found['peak_mb'] / smallest:>9.2f}× | {rate}"
            )
        print()
        wait_steps = 2 if args.smoke else 40
        waited, _ = run_child(["wait", str(datasets[sizes[0]]), str(wait_steps), str(image), str(batch), backbone])
        share = waited["wait_seconds"] / waited["total_seconds"]
        print(f"3. Model steps waiting on input ({sizes[0]} photos, {wait_steps} steps after warm-up)")
        print(
            f"waiting for the next batch: {100 * share:.1f}% of step time "
            f"({waited['wait_seconds']:.2f} s of {waited['total_seconds']:.1f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
