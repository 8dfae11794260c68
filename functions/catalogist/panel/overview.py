"""The overview: uploads per day, the share decided without review, the backlog, the measured
precision of automatic decisions, and the model releases in service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import flask

from catalogist.documents.reviews import JOINED
from catalogist.models.kinds import KINDS
from catalogist.panel import trust, words
from catalogist.panel.context import context

blueprint = flask.Blueprint("overview", __name__)
MODEL_NAMES = {"image-classifier": "Photo classifier", "textcat": "Price-list categorizer", "price": "Price model"}
# what a release's audit is held against when it names no target (training's default)
DEFAULT_TARGET = 0.98


@blueprint.get("/overview")
def overview() -> Any:
    panel = context()
    now = panel.clock()
    decided, total = trust.decided_without_review(panel.documents, now - timedelta(days=7))
    models = panel.models()
    trees = {kind.manifest_kind: kind.tree for kind in KINDS if kind.tree}  # the tree each release decides in
    in_service = [m for m in models if m.get("kind") in trees and m.get("version") not in (None, "", "unreadable")]
    serving = {trees[model["kind"]]: str(model["version"]) for model in in_service}
    # each tree's release is held to the precision it was set for, or training's default
    targets = {trees[m["kind"]]: m.get("target_precision") or DEFAULT_TARGET for m in in_service}
    if "image" in targets and "text" in targets:  # a joined decision keeps what both releases promise
        targets[JOINED] = min(targets["image"], targets["text"])
    return flask.render_template(
        "overview.html",
        model_names=MODEL_NAMES,
        per_day=trust.uploads_per_day(panel.documents, now),
        decided=decided,
        total=total,
        backlog=trust.backlog(panel.documents),
        backlog_cap=trust.BACKLOG_CAP,
        precision=[
            (row, targets.get(row.source, DEFAULT_TARGET))
            for row in trust.audit_precision(panel.documents, panel.levels(), serving)
        ],
        targets=words.targets_sentence(targets, DEFAULT_TARGET),
        audit_rate=panel.settings.audit_rate,
        audited_releases=serving,
        models=[{**model, "figures": _figures(model)} for model in models],
    )


def _figures(model: dict[str, Any]) -> str:
    if model.get("version") == "unreadable":
        return "the release could not be read (see the panel's log)"
    return words.model_figures(str(model.get("kind", "")), model.get("metrics") or {}, model.get("target_precision"))
