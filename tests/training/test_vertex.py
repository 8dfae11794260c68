"""`catalogist train classifier --vertex`, tested where Vertex AI cannot be reached: the job it
would create, that the job's command trains exactly the config asked for, and how it submits
and follows (a recording session stands in for Google's REST APIs)."""

import argparse
import io
import json
import re
import tomllib
from dataclasses import replace

import pytest

from catalogist_training.cli import register_train, resolved_config
from catalogist_training.config import TrainConfig
from catalogist_training.vertex import (
    JOB_OUT,
    VertexJob,
    follow,
    job_spec,
    publish_release,
    submit_from_args,
    training_args,
)
from tests.support import REPO, FakeStorage

JOB = VertexJob(
    project="my-shop",
    region="europe-west4",
    image="europe-west4-docker.pkg.dev/my-shop/catalogist/trainer:1",
    output="gs://my-shop-jobs/vertex",
)


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser().add_subparsers()
    return register_train(commands)


def test_the_job_runs_the_training_image_on_the_machine_asked_for():
    spot = replace(
        JOB,
        accelerator="NVIDIA_L4:2",
        machine_type="g2-standard-24",
        spot=True,
        service_account="t@my-shop.iam.gserviceaccount.com",
    )

    spec = job_spec(spot, "catalogist-classifier-1", ["--data", "gs://b/pack"])

    pool = spec["jobSpec"]["workerPoolSpecs"][0]
    assert pool["machineSpec"] == {
        "machineType": "g2-standard-24",
        "acceleratorType": "NVIDIA_L4",
        "acceleratorCount": 2,
    }
    assert pool["containerSpec"]["imageUri"] == spot.image
    assert pool["containerSpec"]["command"] == ["catalogist", "train", "classifier"]
    assert spec["jobSpec"]["scheduling"]["strategy"] == "SPOT"
    assert spec["jobSpec"]["scheduling"]["restartJobOnWorkerRestart"], "a lost VM restarts and resumes"
    assert spec["jobSpec"]["baseOutputDirectory"] == {
        "outputUriPrefix": "gs://my-shop-jobs/vertex/catalogist-classifier-1"
    }
    assert spec["jobSpec"]["serviceAccount"] == "t@my-shop.iam.gserviceaccount.com"
    cpu_only = job_spec(replace(JOB, accelerator="none"), "x", [])["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]
    assert cpu_only == {"machineType": "n1-standard-8"}


@pytest.mark.parametrize(
    "flags",
    [
        [],
        ["--smoke"],
        ["--recipe", "plain", "--backbone", "lite2", "--image-size", "260", "--seed", "11", "--batch-norm", "trained"],
        [
            "--augment",
            "standard",
            "--extra-train",
            "gs://b/more.csv",
            "--val-split",
            "none",
            "--holdout-fraction",
            "0",
            "--thresholds-from",
            "gs://m/classifier/v1",
        ],
    ],
)
def test_the_job_trains_exactly_the_config_asked_for(flags):
    asked = resolved_config(parser().parse_args(["--data", "gs://shop/pack", *flags]))

    args = training_args(asked, publish="gs://shop-models", extra=[])
    on_the_vm = parser().parse_args(args)

    assert resolved_config(on_the_vm) == replace(asked, out=JOB_OUT)
    assert on_the_vm.publish == "gs://shop-models"


def test_photos_on_this_machine_are_refused_with_how_to_put_them_in_a_bucket(tmp_path):
    with pytest.raises(ValueError, match="catalogist prepare photos --data DIR --out gs://"):
        training_args(TrainConfig(data=str(tmp_path), out=""), publish="", extra=[])
    with pytest.raises(ValueError, match="gs:// folders only"):
        training_args(TrainConfig(data="gs://b/p", out=""), publish="", extra=[str(tmp_path)])


class Response:
    def __init__(self, body: dict, status: int = 200):
        self.body, self.status_code, self.text = body, status, json.dumps(body)

    def json(self) -> dict:
        return self.body


class Vertex:
    """Vertex AI and Cloud Logging as a job sees them: created, queued, running with log lines, done."""

    def __init__(self, states: list[str], logs: list[list[dict]]):
        self.states, self.logs = list(states), list(logs)
        self.created: list[dict] = []
        self.filters: list[str] = []

    def post(self, url, json=None, timeout=None):
        if url.endswith("/customJobs"):
            self.created.append(json)
            return Response({"name": "projects/1/locations/europe-west4/customJobs/77", **json})
        self.filters.append(json["filter"])
        return Response({"entries": self.logs.pop(0) if self.logs else []})

    def get(self, url, timeout=None):
        assert (
            url == "https://europe-west4-aiplatform.googleapis.com/v1/projects/1/locations/europe-west4/customJobs/77"
        )
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return Response(
            {"state": state, **({"error": {"message": "out of memory"}} if state == "JOB_STATE_FAILED" else {})}
        )


def line(when: str, message: str, **figures) -> dict:
    return {"timestamp": when, "jsonPayload": {"message": message, "severity": "INFO", **figures}}


def test_following_prints_each_state_once_and_the_training_s_own_progress_until_the_end():
    vertex = Vertex(
        ["JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"],
        [
            [],
            [line("2026-12-06T10:00:01Z", "training", step=40, eta_seconds=900)],
            [{"timestamp": "2026-12-06T10:00:09Z", "textPayload": "Epoch 1 done\n"}],
        ],
    )
    out = io.StringIO()

    state = follow(vertex, JOB, "projects/1/locations/europe-west4/customJobs/77", out=out, poll=0)

    printed = out.getvalue()
    assert state == "JOB_STATE_SUCCEEDED"
    assert printed.count("JOB_STATE_RUNNING") == 1 and "JOB_STATE_PENDING" in printed
    assert 'training {"step": 40, "eta_seconds": 900}' in printed and "Epoch 1 done" in printed
    assert 'resource.labels.job_id="77"' in vertex.filters[0]
    assert 'timestamp>"2026-12-06T10:00:01Z"' in vertex.filters[2], "each line is printed once"


def test_submitting_creates_one_job_and_exits_by_how_it_ended():
    args = parser().parse_args(
        [
            "--data",
            "gs://shop/pack",
            "--vertex",
            "--vertex-project",
            "my-shop",
            "--vertex-region",
            "europe-west4",
            "--vertex-image",
            JOB.image,
            "--vertex-output",
            JOB.output,
            "--publish",
            "gs://shop-models",
        ]
    )
    config = resolved_config(args)
    vertex = Vertex(["JOB_STATE_RUNNING", "JOB_STATE_FAILED"], [])

    status = submit_from_args(args, config, session=vertex, poll=0)

    assert status == 1, "a failed job fails the command"
    (created,) = vertex.created
    assert created["jobSpec"]["workerPoolSpecs"][0]["containerSpec"]["args"] == training_args(
        config, "gs://shop-models", []
    )


def test_a_finished_release_is_published_where_release_publish_puts_it():
    storage = FakeStorage()
    release = REPO / "tests" / "fixtures" / "classifier-release"

    where = publish_release(release, "gs://shop-models", storage_client=storage)

    assert where == "gs://shop-models/classifier/test-fixture"
    assert storage.order[-1] == "classifier/test-fixture/manifest.json"
    with pytest.raises(ValueError, match="gs://BUCKET"):
        publish_release(release, "gs://shop-models/classifier", storage_client=FakeStorage())


def test_the_trainer_image_installs_the_locked_training_groups_with_the_project_s_uv():
    dockerfile = (REPO / "training" / "Dockerfile").read_text()
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["dependency-groups"]
    uv_version = re.search(r"UV_VERSION := (\S+)", (REPO / "Makefile").read_text())

    groups = set(re.findall(r"--group (\w+)", dockerfile))
    assert {"train", "gpu"} <= groups <= set(declared), "the GPU wheels and the trainer, from groups that exist"
    assert "uv sync --frozen" in dockerfile, "exactly what uv.lock pins"
    assert uv_version and f"uv=={uv_version.group(1)}" in dockerfile
    assert "gpu" not in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["uv"]["default-groups"]
