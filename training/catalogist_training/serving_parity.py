"""Does serving decide what the offline evaluation decided? Photo by photo, from the photo's bytes.

    python -m catalogist_training.serving_parity --release RUN/release --predictions RUN/eval-val/predictions.jsonl

Each photo of an evaluation's `predictions.jsonl` goes through `PhotoClassifier.classify` (the
functions' own decode, preprocessing, int8 model and thresholds), on one thread and then from
several threads sharing one classifier, as a function instance runs it; every decision that
differs in category, level or review is printed. The offline figures only mean something for
the shop if this finds nothing.
"""

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from catalogist.models.classifier import PhotoClassifier


def differences(release: Path, predictions: Path, workers: int = 1) -> tuple[int, list[str]]:
    """(photos compared, one line per photo whose served decision differs from the evaluation's)."""
    rows = [json.loads(line) for line in predictions.open()]
    classifier = PhotoClassifier.open(release, max_interpreters=workers)
    with ThreadPoolExecutor(workers) as pool:
        served = list(pool.map(lambda row: classifier.classify(Path(row["image"]).read_bytes()), rows))
    found = []
    for row, decision in zip(rows, served, strict=True):
        path = "/".join(decision.category_path)
        if (path, decision.decided_level, decision.needs_review) != (
            row["category_path"],
            row["decided_level"],
            row["needs_review"],
        ):
            found.append(
                f"{row['image']}: evaluated {row['category_path']} ({row['decided_level']}), served {path} "
                f"({decision.decided_level})"
            )
    return len(rows), found


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", required=True, type=Path)
    parser.add_argument("--predictions", required=True, type=Path, help="an evaluation's predictions.jsonl")
    args = parser.parse_args()
    differing = 0
    for workers in (1, 4):
        compared, found = differences(args.release, args.predictions, workers)
        print(f"{len(found)} of {compared} decisions differ ({workers} concurrent callers)")
        print("\n".join(found))
        differing += len(found)
    sys.exit(1 if differing else 0)
