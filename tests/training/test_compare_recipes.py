"""The recipe table reads finished runs and reports each recipe over its seeds."""

import json
from pathlib import Path

from catalogist_training.compare_recipes import collect, mean_and_spread, table


def finished_run(folder: Path, fine: float, holdout: float | None = 0.98) -> None:
    (folder / "eval-val").mkdir(parents=True)
    (folder / "release").mkdir()
    (folder / "work").mkdir()
    (folder / "eval-val" / "metrics.json").write_text(
        json.dumps(
            {
                "fine_accuracy": fine,
                "coarse_accuracy": 0.9,
                "auto_accept_rate": 0.6,
                "auto_accept_precision": 0.99,
                "auto_accept_precision_lower_bound": 0.975,
            }
        )
    )
    (folder / "release" / "manifest.json").write_text(json.dumps({"int8_vs_float_gap": {"fine_accuracy_points": 0.3}}))
    (folder / "work" / "timing.json").write_text(json.dumps({"train_seconds": 2400, "resumed_from_epoch": 0}))
    if holdout is not None:
        (folder / "eval-holdout").mkdir()
        (folder / "eval-holdout" / "metrics.json").write_text(json.dumps({"fine_accuracy": holdout}))


def test_each_recipe_is_its_mean_and_spread_over_seeds(tmp_path):
    finished_run(tmp_path / "plain-s7", 0.84)
    finished_run(tmp_path / "plain-s11", 0.86)
    finished_run(tmp_path / "plain-s13", 0.88)
    finished_run(tmp_path / "current-s7", 0.87, holdout=None)
    (tmp_path / "current-s11" / "work").mkdir(parents=True)  # still training: not counted

    found = collect(tmp_path)
    lines = table(found).splitlines()

    assert sorted(found) == ["current", "plain"] and sorted(found["plain"]) == [7, 11, 13]
    plain = next(line for line in lines if line.startswith("| plain |"))
    assert "| 7, 11, 13 |" in plain and "0.860 ± 0.020 (0.840–0.880)" in plain
    current = next(line for line in lines if line.startswith("| current |"))
    assert "| 7 |" in current and "0.870 |" in current and "| – |" in current  # no holdout evaluated


def test_a_single_value_has_no_spread_to_show():
    assert mean_and_spread([]) == "–"
    assert mean_and_spread([0.5]) == "0.500"
    assert mean_and_spread([40.0, 42.0], decimals=0) == "41 ± 1 (40–42)"
