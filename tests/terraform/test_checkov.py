"""`checkov -d terraform` (terraform/ and terraform/bootstrap/) passes, and the checks it skips
are exactly the reviewed ones below, each skipped in terraform/ with its reason in a
`# checkov:skip=ID: reason` comment; the deploy workflow passes checkov's GitHub Actions checks.

checkov does not cover the 2nd-gen functions' invoker IAM (google_cloud_run_v2_service_iam_member:
its public-access rules know only gen-1 functions and v1 Cloud Run services); test_iam.py does.
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from tests.terraform.hcl import TERRAFORM

# its own environment, built by `make install` (infra/checkov/requirements.txt)
CHECKOV = Path(__file__).resolve().parents[2] / ".cache" / "checkov" / "bin" / "checkov"

# (check, resource): why it is skipped is in the comment at the resource.
REVIEWED_SKIPS = {
    # Bucket access logs: Cloud Audit Logs answer who read or wrote what, without a fourth bucket.
    ("CKV_GCP_62", "google_storage_bucket.uploads"),
    ("CKV_GCP_62", "google_storage_bucket.models"),
    ("CKV_GCP_62", "google_storage_bucket.source"),
    # A customer-managed key for images of open code: a KMS key ring for no protection gained.
    ("CKV_GCP_84", "google_artifact_registry_repository.functions"),
    # Eventarc's own service agent receiving its own role, explicitly (issue 25294).
    ("CKV_GCP_49", "google_project_iam_member.eventarc_agent"),
    # Dataflow's developer role, project-only; the function may act as the workers' account alone.
    ("CKV_GCP_49", "google_project_iam_member.upload_launches_imports"),
    # Pub/Sub topic of object events (names, no content): a KMS key ring for no protection gained.
    ("CKV_GCP_83", "google_pubsub_topic.dead_letter"),
    # The batch image repository: open code and public packages, like the functions' images.
    ("CKV_GCP_84", "google_artifact_registry_repository.batch"),
    # The jobs bucket's usage logs: the Data Access audit logs answer who read or wrote what.
    ("CKV_GCP_62", "google_storage_bucket.jobs"),
    # bootstrap/: the state bucket's usage logs, as for the others.
    ("CKV_GCP_62", "google_storage_bucket.state"),
    # bootstrap/: the deployer administers and attaches the accounts the same apply of terraform/
    # creates (no narrower resource exists yet); it runs only in the reviewed environment.
    ("CKV_GCP_49", "google_project_iam_member.deploy_creates_accounts"),
    ("CKV_GCP_41", "google_project_iam_member.deploy_attaches_accounts"),
    ("CKV_GCP_49", "google_project_iam_member.deploy_attaches_accounts"),
    # bootstrap/: the planner reads every declared resource (Viewer), and writes nothing.
    ("CKV_GCP_117", "google_project_iam_member.plan_reads_resources"),
    # bootstrap/: the OIDC condition pins repository and subject; checkov cannot read the variable.
    ("CKV_GCP_125", "google_iam_workload_identity_pool_provider.github"),
}


@cache
def checkov_report() -> dict[str, Any]:
    # --skip-download: no policy download from the vendor's platform (there is no network here,
    # and the checks that ship with the pinned version are the ones reviewed).
    completed = subprocess.run(
        [str(CHECKOV), "-d", str(TERRAFORM), "--framework", "terraform", "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.stdout.strip(), f"checkov printed nothing: {completed.stderr[-2000:]}"
    report = json.loads(completed.stdout)
    return report if isinstance(report, dict) else next(r for r in report if r["check_type"] == "terraform")


def test_checkov_passes() -> None:
    results = checkov_report()["results"]

    failed = [(r["check_id"], r["resource"], r["file_path"]) for r in results["failed_checks"]]

    assert not failed, f"checkov failed: {failed}"
    assert len(results["passed_checks"]) > 40, "checkov ran too few checks to mean anything"


def test_the_skipped_checks_are_the_reviewed_ones_and_each_says_why() -> None:
    skipped = checkov_report()["results"]["skipped_checks"]

    assert {(r["check_id"], r["resource"]) for r in skipped} == REVIEWED_SKIPS
    for record in skipped:
        reason = (record.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.split()) >= 5, f"{record['check_id']} on {record['resource']} is skipped without a reason"


def test_the_deploy_workflow_passes_checkovs_github_actions_checks() -> None:
    workflows = TERRAFORM.parent / ".github" / "workflows"
    completed = subprocess.run(
        [str(CHECKOV), "-d", str(workflows), "--framework", "github_actions", "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = json.loads(completed.stdout)
    report = report if isinstance(report, dict) else report[0]

    assert not report["results"]["failed_checks"]
    assert not report["results"]["skipped_checks"]
    assert len(report["results"]["passed_checks"]) > 20
