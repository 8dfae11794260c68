"""`make models`: rebuild the reference releases in models/ with the commands their manifests name.

    .venv/bin/python -m catalogist_infra.rebuild_models [KIND ...]

Each committed manifest records the exact `catalogist train …` command that built it. This runs
that command (the classifier about an hour on a 2-core machine, the row models a few),
then replaces models/KIND with the release it wrote (`<out>/release`). A command whose release
is refused (the int8 gate) leaves models/ as it was.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from catalogist.models.kinds import KINDS, ReleaseKind

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"


def rebuild(kind: str) -> None:
    manifest = json.loads((MODELS / kind / "manifest.json").read_text())
    command = shlex.split(manifest["command"])
    out = Path(command[command.index("--out") + 1])
    out = out if out.is_absolute() else REPO / out
    print(f"{kind}: {manifest['command']}", flush=True)
    subprocess.run([str(Path(sys.executable).parent / command[0]), *command[1:]], cwd=REPO, check=True)
    release = ReleaseKind.release_in(out)
    shutil.rmtree(MODELS / kind)
    shutil.copytree(release, MODELS / kind, ignore=shutil.ignore_patterns("*.html", "*.png"))
    print(
        f"{kind}: models/{kind} is now release {json.loads((MODELS / kind / 'manifest.json').read_text())['version']}"
    )


def main(argv: list[str] | None = None) -> int:
    kinds = (argv if argv is not None else sys.argv[1:]) or [
        k.name for k in KINDS if (MODELS / k.name / "manifest.json").exists()
    ]
    for kind in kinds:
        rebuild(kind)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
