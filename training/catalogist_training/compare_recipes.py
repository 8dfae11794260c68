"""Train a classifier recipe over seeds, and compare recipes by mean and spread over those seeds.

    python -m catalogist_training.compare_recipes train --name plain --seeds 7,11,13 \
        --runs /work/runs/classifier --data ../shared/datasets/grocerystore -- --recipe plain
    python -m catalogist_training.compare_recipes table --runs /work/runs/classifier

`train` runs `catalogist train classifier` once per seed, one after the other, into
`<runs>/<name>-s<seed>/` (with `<name>-s<seed>.log` beside it); whatever follows `--` goes to
every run (the recipe and its switches). A finished run is skipped, a broken one resumes.

`table` reads every `<name>-s<seed>/` under `<runs>` and prints one line per recipe. Two seeds of
one recipe differ by about 3 points of fine accuracy on the 296 val photos, so a recipe is its
mean and spread over seeds, never one run. Selection uses val only: the held-out tail of train
shares shopping sessions with training (0.97-0.99 for every recipe) and is shown as a sanity
column, not a criterion. The "unseen-half" columns refit the release's thresholds on half of val
(+ the holdout) and decide the other half (`promise.py`): the val auto-accept columns are measured
on photos the thresholds were fitted on.
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

RUN_NAME = re.compile(r"^(?P<name>.+)-s(?P<seed>\d+)$")
COLUMNS = (
    # (heading, key in a run's figures, decimals)
    ("val fine int8", "val_fine", 3),
    ("val coarse int8", "val_coarse", 3),
    ("val auto-accept rate", "val_auto_rate", 3),
    ("its precision", "val_auto_precision", 3),
    ("its 95% lower bound", "val_auto_bound", 3),
    ("unseen-half rate", "crossfit_rate", 3),
    ("unseen-half precision", "crossfit_precision", 3),
    ("float − int8 (points lost)", "gap_points", 2),
    ("holdout fine (sanity)", "holdout_fine", 3),
    ("train minutes", "train_minutes", 0),
)


def train_seeds(name: str, seeds: list[int], runs: Path, data: str, flags: list[str]) -> list[int]:
    """Each seed's `catalogist train classifier` exit status, in order."""
    statuses = []
    for seed in seeds:
        out = runs / f"{name}-s{seed}"
        if (out / "eval-val" / "metrics.json").exists():
            statuses.append(0)
            continue
        command = ["catalogist", "train", "classifier", "--data", data, "--out", str(out), "--seed", str(seed), *flags]
        executable = Path(sys.executable).with_name("catalogist")
        with open(runs / f"{name}-s{seed}.log", "a") as log:
            log.write("$ " + " ".join(command) + "\n")
            log.flush()
            statuses.append(subprocess.call([str(executable), *command[1:]], stdout=log, stderr=subprocess.STDOUT))
    return statuses


def run_figures(run: Path, evaluation: str = "eval-val") -> dict | None:
    """The comparable figures of one finished run (None while it is unfinished); `evaluation` is
    the folder of the val evaluation to read (another one: the same runs on a part of val)."""
    val_path = run / evaluation / "metrics.json"
    manifest_path = run / "release" / "manifest.json"
    if not (val_path.exists() and manifest_path.exists()):
        return None
    val = json.loads(val_path.read_text())
    manifest = json.loads(manifest_path.read_text())
    holdout_path = run / "eval-holdout" / "metrics.json"
    holdout = json.loads(holdout_path.read_text()) if holdout_path.exists() else {}
    timing_path = run / "work" / "timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    predicted = (run / evaluation / "probabilities.npy").exists()
    crossfit = promise_on_unseen_photos(run, evaluation) if predicted else {}
    return {
        "val_fine": val["fine_accuracy"],
        "val_coarse": val["coarse_accuracy"],
        "val_auto_rate": val["auto_accept_rate"],
        "val_auto_precision": val["auto_accept_precision"],
        "val_auto_bound": val.get("auto_accept_precision_lower_bound"),
        "gap_points": manifest["int8_vs_float_gap"]["fine_accuracy_points"],
        "holdout_fine": holdout.get("fine_accuracy"),
        "crossfit_rate": crossfit.get("decided_rate"),
        "crossfit_precision": crossfit.get("precision"),
        # a resumed run only knows the time since it resumed
        "train_minutes": timing["train_seconds"] / 60 if timing and not timing.get("resumed_from_epoch") else None,
    }


def promise_on_unseen_photos(run: Path, evaluation: str = "eval-val") -> dict:
    """The rule a release would choose on val, fitted on half of it and measured on the other
    half, pooled over 100 splits (`promise.py`): how the promise fares on unseen photos."""
    from catalogist.models.taxonomy import Taxonomy
    from catalogist_training.promise import choose_rule, load_predictions

    taxonomy = Taxonomy.load(run / "release" / "taxonomy.json")
    probabilities, truth = load_predictions(run / evaluation, taxonomy)
    choice = choose_rule(taxonomy, probabilities, truth, 0.98, repeats=100)
    return choice["candidates"][choice["rule"]]


def collect(runs: Path, evaluation: str = "eval-val") -> dict[str, dict[int, dict]]:
    """recipe name -> seed -> figures, for every finished run under `runs`."""
    found: dict[str, dict[int, dict]] = {}
    for folder in sorted(runs.iterdir()):
        match = RUN_NAME.match(folder.name)
        if folder.is_dir() and match and (figures := run_figures(folder, evaluation)) is not None:
            found.setdefault(match["name"], {})[int(match["seed"])] = figures
    return found


def mean_and_spread(values: list[float], decimals: int = 3) -> str:
    """`mean ± sd (min–max)` over seeds; the bare value for a single run."""
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{decimals}f}"
    mean, sd = statistics.mean(values), statistics.stdev(values)
    return f"{mean:.{decimals}f} ± {sd:.{decimals}f} ({min(values):.{decimals}f}–{max(values):.{decimals}f})"


def table(found: dict[str, dict[int, dict]]) -> str:
    """A Markdown table: one row per recipe, mean ± standard deviation (min–max) over its seeds."""
    lines = [
        "| recipe | seeds | " + " | ".join(heading for heading, _, _ in COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for name, by_seed in found.items():
        cells = []
        for _, key, decimals in COLUMNS:
            values = [figures[key] for figures in by_seed.values() if figures[key] is not None]
            cells.append(mean_and_spread(values, decimals))
        seeds = ", ".join(str(seed) for seed in sorted(by_seed))
        lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train one recipe over seeds")
    train.add_argument("--name", required=True, help="recipe name: runs go to <runs>/<name>-s<seed>")
    train.add_argument("--seeds", required=True, help="comma-separated seeds")
    train.add_argument("--runs", required=True, type=Path)
    train.add_argument("--data", required=True)
    train.add_argument("flags", nargs=argparse.REMAINDER, help="after --: flags for every run")
    show = commands.add_parser("table", help="mean and spread of each recipe over its seeds")
    show.add_argument("--runs", required=True, type=Path)
    show.add_argument("--json", action="store_true", help="every run's figures instead of the table")
    show.add_argument("--eval", default="eval-val", help="each run's val evaluation folder to read")
    args = parser.parse_args(argv)
    if args.command == "train":
        args.runs.mkdir(parents=True, exist_ok=True)
        flags = args.flags[1:] if args.flags[:1] == ["--"] else args.flags
        seeds = [int(seed) for seed in args.seeds.split(",")]
        return max(train_seeds(args.name, seeds, args.runs, args.data, flags), default=0)
    found = collect(args.runs, args.eval)
    print(json.dumps(found, indent=2) if args.json else table(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
