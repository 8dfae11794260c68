"""`catalogist upgrade` on the real emulator: audits an earlier Catalogist recorded without the
release they checked count again in the overview, beside the release in service, and a second
run changes nothing."""

import os
import subprocess
import sys
from pathlib import Path

from catalogist.adapters.firestore import EmulatorDocuments
from catalogist.documents.reviews import AUDIT_VERSION
from catalogist.panel.trust import audit_precision
from catalogist.ports import Write
from tests.support import vendor


def upgrade(stack) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "catalogist"), "upgrade"]
    env = {**os.environ, **stack.config.client_env(), **stack.config.function_env}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_audits_recorded_without_their_release_are_given_it_and_counted_again(stack, monkeypatch):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", stack.config.firestore_host)
    documents = EmulatorDocuments(stack.config.project)
    release = f"release-{vendor()}"  # this test's own: other tests' audits do not count
    audit = {"audit": True, "undone": False, "audit_source": "image", "audit_level": "fine"}
    checked = {"model": {"category": {"model_version": release, "path": ["Fruit", "Apple"]}}}
    legacy = [Write("reviews", f"{release}-{i}", {**audit, **checked, "audit_correct": i > 0}) for i in range(3)]
    recorded = Write("reviews", f"{release}-new", {**audit, **checked, "audit_correct": True, AUDIT_VERSION: release})
    not_an_audit = Write("reviews", f"{release}-choice", {"audit": False, "undone": False, **checked})
    documents.commit([*legacy, recorded, not_an_audit])
    levels = {"image": ("top", "coarse", "fine")}

    before = audit_precision(documents, levels, {"image": release})
    first = upgrade(stack)
    after = audit_precision(documents, levels, {"image": release})
    again = upgrade(stack)

    assert first.returncode == 0, first.stdout + first.stderr
    assert [(row.right, row.reviewed) for row in before] == [(1, 1)], "only the audit that names its release"
    assert [(row.right, row.reviewed) for row in after] == [(3, 4)]
    assert documents.get("reviews", f"{release}-0")[AUDIT_VERSION] == release
    assert AUDIT_VERSION not in documents.get("reviews", f"{release}-choice")
    assert again.returncode == 0 and again.stdout.startswith("reviews: 0 of "), again.stdout + again.stderr
