"""metrics.json + report.html (plots as embedded PNG) for the text and price evaluations."""

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def figure_png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def write_report(out: Path, title: str, metrics: dict[str, Any], figures: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    sections = "\n".join(
        f"<h2>{html.escape(caption)}</h2><img alt='{html.escape(caption)}' src='data:image/png;base64,{png}'>"
        for caption, png in figures.items()
    )
    page = (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
        "pre{background:#f4f4f4;padding:1em}img{max-width:100%}</style>"
        f"<h1>{html.escape(title)}</h1><pre>{html.escape(json.dumps(metrics, indent=2))}</pre>"
        f"{sections}"
    )
    (out / "report.html").write_text(page)
