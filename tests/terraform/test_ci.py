"""Deploying from CI: terraform/bootstrap/ creates the state bucket and two keyless identities for
GitHub (a planner any pull request may use, a deployer only the reviewed environment may use),
the deployer holds a role for every kind of resource terraform/ declares and may grant only the
roles terraform/ grants, and the workflow plans pull requests and applies main after approval."""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.hcl import REPO, TERRAFORM, attr, block, expr, load
from tests.terraform.hcl_eval import evaluate, loads

BOOTSTRAP = TERRAFORM / "bootstrap"
WORKFLOW = REPO / ".github" / "workflows" / "terraform.yml"
# checkov's own environment has PyYAML (make install builds it); the project's does not.
CHECKOV_PYTHON = REPO / ".cache" / "checkov" / "bin" / "python"
REPOSITORY = "my-shop/catalogist"
# The role the deployer needs for each kind of resource terraform/ declares (by type prefix).
ROLE_FOR_TYPE = {
    "google_artifact_registry_": "roles/artifactregistry.admin",
    "google_billing_budget": "roles/billing.costsManager",
    "google_cloud_run_v2_service_iam_": "roles/run.admin",
    "google_cloudfunctions2_": "roles/cloudfunctions.developer",
    "google_compute_": "roles/compute.loadBalancerAdmin",
    "google_eventarc_": "roles/eventarc.developer",
    "google_firestore_": "roles/datastore.owner",
    "google_iap_": "roles/iap.admin",
    "google_logging_metric": "roles/logging.configWriter",
    "google_monitoring_": "roles/monitoring.editor",
    "google_project_iam_audit_config": "roles/resourcemanager.projectIamAdmin",
    "google_project_iam_custom_role": "roles/iam.roleAdmin",
    "google_project_iam_member": "roles/resourcemanager.projectIamAdmin",
    "google_project_service": "roles/serviceusage.serviceUsageAdmin",
    "google_pubsub_": "roles/pubsub.admin",
    "google_secret_manager_": "roles/secretmanager.admin",
    "google_service_account": "roles/iam.serviceAccountAdmin",
    "google_storage_": "roles/storage.admin",
}


@cache
def workflow() -> dict[str, Any]:
    read = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
    completed = subprocess.run(
        [str(CHECKOV_PYTHON), "-c", read, str(WORKFLOW)], capture_output=True, text=True, check=True, timeout=60
    )
    parsed = json.loads(completed.stdout)
    # YAML 1.1 reads the key `on` as true
    parsed["on"] = parsed.pop("true", parsed.get("on"))
    return parsed


def _run_lines(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def _uses(job: dict, action: str) -> list[dict]:
    return [step for step in job["steps"] if step.get("uses", "").startswith(action)]


def test_pull_requests_plan_and_main_applies() -> None:
    flow = workflow()

    assert set(flow["on"]) == {"pull_request", "push"}
    assert flow["on"]["push"]["branches"] == ["main"]
    assert flow["permissions"] == {"contents": "read"}
    assert flow["jobs"]["plan"]["if"] == "github.event_name == 'pull_request'"
    assert flow["jobs"]["apply"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert "apply" not in _run_lines(flow["jobs"]["plan"]).replace("applies", "")
    assert "-lock=false" in _run_lines(flow["jobs"]["plan"])
    assert "terraform -chdir=terraform apply" in _run_lines(flow["jobs"]["apply"])


def test_only_the_reviewed_environment_applies_and_as_the_deployer() -> None:
    jobs = workflow()["jobs"]

    assert jobs["apply"]["environment"] == "production"
    assert "environment" not in jobs["plan"]
    plan_auth, apply_auth = (_uses(jobs[name], "google-github-actions/auth")[0]["with"] for name in ("plan", "apply"))
    assert plan_auth["service_account"] == "${{ vars.GCP_PLAN_SERVICE_ACCOUNT }}"
    assert apply_auth["service_account"] == "${{ vars.GCP_DEPLOY_SERVICE_ACCOUNT }}"
    for name, job in jobs.items():
        assert (job.get("permissions", {}).get("id-token") == "write") == (name in ("plan", "apply")), name


def test_the_workflow_runs_the_terraform_the_configuration_requires() -> None:
    flow = workflow()
    required = attr(loads((TERRAFORM / "versions.tf").read_text()), "terraform")

    major, minor, _ = (int(part) for part in flow["env"]["TF_VERSION"].split("."))
    assert attr(required, "required_version").startswith(">= 1.11")
    assert (major, minor) >= (1, 11)
    checks = _run_lines(flow["jobs"]["checks"])
    assert "terraform fmt -check -recursive terraform" in checks
    assert "terraform -chdir=terraform validate" in checks
    assert "pytest -q tests/terraform" in checks


def test_the_import_jobs_image_and_template_are_built_after_the_apply_from_its_outputs() -> None:
    apply = _run_lines(workflow()["jobs"]["apply"])

    assert apply.index("terraform -chdir=terraform apply") < apply.index("gcloud dataflow flex-template build")
    assert "terraform -chdir=terraform output -json import_job" in apply
    assert "docker build --file batch/Dockerfile" in apply
    assert '--image="$image"' in apply and "--sdk-language=PYTHON" in apply
    assert set(load().outputs["import_job"]["value"][0]) >= {
        "template",
        "image",
        "service_account",
        "temp_location",
        "staging_location",
        "region",
    }


def _bootstrap() -> Any:
    return load(BOOTSTRAP)


def _token_accepted(sub: str, repository: str = REPOSITORY) -> bool:
    provider = _bootstrap().get("google_iam_workload_identity_pool_provider.github").body
    names = {
        "var": {"github_repository": REPOSITORY, "github_environment": "production"},
        "assertion": {"sub": sub, "repository": repository},
    }
    # The condition is a string built from the variables; Google evaluates the string it becomes.
    condition = evaluate(attr(provider, "attribute_condition"), names)
    return evaluate("${" + condition + "}", names)


@pytest.mark.parametrize(
    ("sub", "repository", "accepted"),
    [
        (f"repo:{REPOSITORY}:pull_request", REPOSITORY, True),
        (f"repo:{REPOSITORY}:environment:production", REPOSITORY, True),
        (f"repo:{REPOSITORY}:ref:refs/heads/main", REPOSITORY, False),
        (f"repo:{REPOSITORY}:environment:staging", REPOSITORY, False),
        ("repo:someone/fork:pull_request", "someone/fork", False),
    ],
)
def test_only_pull_requests_and_the_environment_of_the_repository_get_a_token(
    sub: str, repository: str, accepted: bool
) -> None:
    assert _token_accepted(sub, repository) is accepted


def test_the_deployer_trusts_the_environment_and_the_planner_pull_requests() -> None:
    tf = _bootstrap()
    deploy = expr(attr(tf.get("google_service_account_iam_member.environment_deploys").body, "member"))
    plan = expr(attr(tf.get("google_service_account_iam_member.pull_requests_plan").body, "member"))

    assert deploy.endswith("/subject/repo:${var.github_repository}:environment:${var.github_environment}")
    assert plan.endswith("/subject/repo:${var.github_repository}:pull_request")


def _deployer_roles() -> set[str]:
    tf = _bootstrap()
    roles = set(evaluate(attr(tf.locals, "deploy_roles"), {}))
    for resource in tf.iam_members():
        if (
            expr(attr(resource.body, "member")) == "google_service_account.deploy.member"
            and "for_each" not in resource.body
        ):
            roles.add(attr(resource.body, "role"))
    return roles


def test_the_deployer_can_create_every_kind_of_resource_terraform_declares() -> None:
    roles = _deployer_roles()

    for resource in load().resources:
        if not resource.type.startswith("google_"):
            continue
        needed = [role for prefix, role in ROLE_FOR_TYPE.items() if resource.type.startswith(prefix)]
        assert needed, f"no deployer role is reviewed for {resource.type}: add it to ROLE_FOR_TYPE"
        assert needed[-1] in roles, f"{resource.address} needs {needed[-1]}"
    assert not roles & {"roles/owner", "roles/editor"}


def test_the_deployer_may_grant_exactly_the_project_roles_terraform_grants() -> None:
    tf = _bootstrap()
    grant = tf.get("google_project_iam_member.deploy_grants_workload_roles").body
    grantable = set(evaluate(attr(tf.locals, "grantable_roles"), {}))
    granted = {attr(r.body, "role") for r in load().of_type("google_project_iam_member")}

    assert attr(grant, "role") == "roles/resourcemanager.projectIamAdmin"
    assert grantable == granted
    condition = evaluate(
        attr(block(grant, "condition"), "expression"), {"local": {"grantable_roles": sorted(grantable)}}
    )
    assert condition.startswith("api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([")
    assert all(f"'{role}'" in condition for role in grantable)


def test_the_state_bucket_is_versioned_private_and_never_destroyed() -> None:
    bucket = _bootstrap().get("google_storage_bucket.state").body

    assert attr(block(bucket, "versioning"), "enabled") is True
    assert attr(bucket, "public_access_prevention") == "enforced"
    assert attr(bucket, "uniform_bucket_level_access") is True
    assert attr(block(bucket, "lifecycle"), "prevent_destroy") is True
    assert attr(bucket, "force_destroy") is False


def test_the_main_configuration_keeps_its_state_in_a_gcs_backend() -> None:
    assert 'backend "gcs" {}' in (TERRAFORM / "backend.tf").read_text()
    assert Path(BOOTSTRAP / "terraform.tfvars.example").is_file()
