"""`catalogist train classifier --vertex`: the same training as a Vertex AI custom job.

    catalogist train classifier --vertex --data gs://shop-ml/pack --publish gs://shop-models \\
        --vertex-project my-shop --vertex-image REGION-docker.pkg.dev/my-shop/catalogist/trainer:TAG \\
        --vertex-service-account catalogist-training@my-shop.iam.gserviceaccount.com \\
        --vertex-output gs://my-shop-catalogist-jobs/vertex

The job runs the project's training image (training/Dockerfile) with the very command a local run
would take, every setting spelled out (so the job's page says how its model was made), on the
VM and GPUs asked for. Photos come from the bucket; checkpoints and TensorBoard logs go to the
job's output folder (Vertex AI tells the container where, in AIP_CHECKPOINT_DIR and
AIP_TENSORBOARD_LOG_DIR), so a Spot VM taken away mid-run restarts from the last epoch; the
finished release is published into the models bucket where `catalogist release publish` would put
it (a new version; nothing in service changes until a function is pointed at it).

The job is created and followed through Vertex AI's and Cloud Logging's REST APIs with the
machine's Google credentials: its state and the training's own progress lines (step, photos/s,
ETA) print here until it ends. Ctrl-C stops following, not the job; `--vertex-follow JOB` picks
it up again. Terraform (terraform/vertex.tf) makes the service account, the output bucket and
the grants; its `training` output names them.
"""

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from catalogist.flags import add_flag
from catalogist_training import files
from catalogist_training.config import TrainConfig

log = logging.getLogger("catalogist.training")

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
LOGGING_API = "https://logging.googleapis.com/v2/entries:list"
JOB_OUT = "/workspace/run"  # the image's own disk: work files, the release before it is published
TERMINAL = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}
POLL_SECONDS = 30
DAY_SECONDS = 24 * 3600


class Session(Protocol):
    """What submitting and following need of `google.auth.transport.requests.AuthorizedSession`."""

    def post(self, url: str, json: Any = None, timeout: float | None = None) -> Any: ...

    def get(self, url: str, timeout: float | None = None) -> Any: ...


@dataclass(frozen=True)
class VertexJob:
    project: str
    region: str
    image: str
    output: str  # gs://bucket/prefix: each job writes under <output>/<display name>/
    service_account: str = ""
    machine_type: str = "n1-standard-8"
    accelerator: str = "NVIDIA_TESLA_T4:1"  # TYPE:COUNT, or "none" for a CPU-only VM
    spot: bool = False
    timeout_hours: float = 24.0

    def __post_init__(self):
        if not self.output.startswith("gs://"):
            raise ValueError(f"--vertex-output must be a gs:// folder, not {self.output!r}")
        if self.accelerator != "none" and ":" not in self.accelerator:
            raise ValueError(
                f"--vertex-accelerator is TYPE:COUNT (e.g. NVIDIA_TESLA_T4:1) or none, not {self.accelerator!r}"
            )

    @property
    def api(self) -> str:
        return f"https://{self.region}-aiplatform.googleapis.com/v1/projects/{self.project}/locations/{self.region}"


def training_args(config: TrainConfig, publish: str, extra: list[str]) -> list[str]:
    """`catalogist train classifier` arguments that train `config` on the job's VM, every setting
    explicit (the image's defaults may be another release's)."""
    from catalogist_training.config import AugmentConfig, config_flags

    if not files.is_remote(config.data):
        raise ValueError(
            f"--data {config.data} is on this machine; a Vertex AI job reads gs://. Pack it there first: "
            "catalogist prepare photos --data DIR --out gs://BUCKET/PREFIX"
        )
    local_extra = [e for e in extra if not files.is_remote(e)]
    if local_extra:
        raise ValueError(f"--extra {local_extra[0]} is on this machine; the job reads gs:// folders only")
    presets = {AugmentConfig(): "shop", AugmentConfig.standard(): "standard"}
    if config.augment not in presets:
        raise ValueError("the job can only run the shop or standard augmentation presets")
    args = ["--recipe", config.recipe, "--data", config.data, "--out", JOB_OUT]
    for f in config_flags():
        if f.name in ("checkpoints", "tensorboard"):
            continue  # the job's own output folder (AIP_*), unless set on purpose
        value = getattr(config, f.name)
        if isinstance(value, tuple):
            value = ",".join(value)
        if value != "":  # an empty setting is the default: nothing to spell out
            args += ["--" + f.name.replace("_", "-"), str(value)]
    for location in ("checkpoints", "tensorboard"):
        if getattr(config, location):
            args += [f"--{location}", getattr(config, location)]
    args += ["--val-split", config.val_split or "none"]
    args += ["--batch-norm", "frozen" if config.freeze_batch_norm else "trained"]
    args += ["--augment", presets[config.augment]]
    for folder in extra:
        args += ["--extra", folder]
    if publish:
        args += ["--publish", publish]
    return args


def job_spec(job: VertexJob, name: str, args: list[str]) -> dict:
    """The CustomJob resource Vertex AI's REST API creates (projects.locations.customJobs)."""
    machine: dict[str, Any] = {"machineType": job.machine_type}
    if job.accelerator != "none":
        kind, count = job.accelerator.split(":")
        machine |= {"acceleratorType": kind, "acceleratorCount": int(count)}
    spec: dict[str, Any] = {
        "workerPoolSpecs": [
            {
                "machineSpec": machine,
                "replicaCount": "1",
                "diskSpec": {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 100},
                "containerSpec": {
                    "imageUri": job.image,
                    "command": ["catalogist", "train", "classifier"],
                    "args": args,
                },
            }
        ],
        "scheduling": {
            "timeout": f"{int(job.timeout_hours * 3600)}s",
            # a VM lost mid-run (Spot, maintenance) restarts the job, which resumes from its checkpoints
            "restartJobOnWorkerRestart": True,
            "strategy": "SPOT" if job.spot else "STANDARD",
        },
        "baseOutputDirectory": {"outputUriPrefix": files.join(job.output, name)},
    }
    if job.service_account:
        spec["serviceAccount"] = job.service_account
    return {"displayName": name, "labels": {"app": "catalogist", "model": "classifier"}, "jobSpec": spec}


def _checked(response) -> dict:
    if response.status_code >= 400:
        raise RuntimeError(f"Vertex AI answered {response.status_code}: {response.text[:500]}")
    return response.json()


def submit(session: Session, job: VertexJob, spec: dict) -> dict:
    """Create the job; returns the created CustomJob (its `name` is the job's resource name)."""
    return _checked(session.post(f"{job.api}/customJobs", json=spec, timeout=60))


def new_log_lines(session: Session, project: str, job_id: str, since: str) -> tuple[list[str], str]:
    """(the job's log lines after `since`, the timestamp of the last one) from Cloud Logging."""
    body = {
        "resourceNames": [f"projects/{project}"],
        "filter": f'resource.type="ml_job" AND resource.labels.job_id="{job_id}" AND timestamp>"{since}"',
        "orderBy": "timestamp asc",
        "pageSize": 1000,
    }
    entries = _checked(session.post(LOGGING_API, json=body, timeout=60)).get("entries", [])
    lines = []
    for entry in entries:
        payload = entry.get("jsonPayload")
        if payload:  # the training's JSON lines: the message and its figures
            figures = {k: v for k, v in payload.items() if k not in ("message", "severity", "time", "logger")}
            lines.append(
                f"{payload.get('message', '')} {json.dumps(figures)}" if figures else payload.get("message", "")
            )
        else:
            lines.append(str(entry.get("textPayload", "")).rstrip())
        since = entry.get("timestamp", since)
    return lines, since


def follow(session: Session, job: VertexJob, name: str, out=sys.stdout, poll: float = POLL_SECONDS) -> str:
    """Print the job's state changes and log lines until it ends; returns its final state."""
    job_id = name.rsplit("/", 1)[-1]
    since = datetime.now(UTC).replace(year=2000).isoformat()
    state = ""
    while True:
        current = _checked(session.get(f"https://{job.region}-aiplatform.googleapis.com/v1/{name}", timeout=60))
        lines, since = new_log_lines(session, job.project, job_id, since)
        for line in lines:
            print(line, file=out, flush=True)
        if current["state"] != state:
            state = current["state"]
            print(f"[{datetime.now(UTC):%H:%M:%S}] {name}: {state}", file=out, flush=True)
        if state in TERMINAL:
            if current.get("error"):
                print(f"error: {current['error'].get('message', current['error'])}", file=out)
            return state
        time.sleep(poll)


def add_vertex_flags(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser, "--vertex", "CATALOGIST_VERTEX", "train as a Vertex AI custom job instead of here", action="store_true"
    )
    add_flag(
        parser,
        "--publish",
        "CATALOGIST_PUBLISH",
        "publish the finished release into this models bucket (gs://BUCKET) as a new version",
    )
    add_flag(parser, "--vertex-project", "GOOGLE_CLOUD_PROJECT", "project the job runs in")
    add_flag(parser, "--vertex-region", "CATALOGIST_VERTEX_REGION", "region of the job", default="us-central1")
    add_flag(
        parser, "--vertex-image", "CATALOGIST_TRAINING_IMAGE", "the training image (built from training/Dockerfile)"
    )
    add_flag(
        parser,
        "--vertex-output",
        "CATALOGIST_VERTEX_OUTPUT",
        "gs:// folder for the jobs' checkpoints and logs (Terraform output training.staging_location)",
    )
    add_flag(
        parser,
        "--vertex-service-account",
        "CATALOGIST_TRAINING_SERVICE_ACCOUNT",
        "account the job runs as (Terraform output training.service_account)",
    )
    add_flag(parser, "--vertex-machine", "CATALOGIST_VERTEX_MACHINE", "machine type", default="n1-standard-8")
    add_flag(
        parser,
        "--vertex-accelerator",
        "CATALOGIST_VERTEX_ACCELERATOR",
        "GPUs as TYPE:COUNT, or none",
        default="NVIDIA_TESLA_T4:1",
    )
    add_flag(
        parser,
        "--vertex-spot",
        "CATALOGIST_VERTEX_SPOT",
        "run on Spot VMs (cheaper; resumed when taken away)",
        action="store_true",
    )
    add_flag(parser, "--vertex-no-follow", "CATALOGIST_VERTEX_NO_FOLLOW", "submit and return", action="store_true")
    add_flag(
        parser,
        "--vertex-follow",
        "CATALOGIST_VERTEX_FOLLOW",
        "follow this job (its resource name) instead of submitting",
    )


def _job_from_args(args: argparse.Namespace) -> VertexJob:
    missing = [flag for flag in ("vertex_project", "vertex_image", "vertex_output") if not getattr(args, flag)]
    if missing and not args.vertex_follow:
        raise SystemExit("--vertex needs " + ", ".join("--" + m.replace("_", "-") for m in missing))
    return VertexJob(
        project=args.vertex_project or "",
        region=args.vertex_region,
        image=args.vertex_image or "",
        output=args.vertex_output or "gs://unused",
        service_account=args.vertex_service_account or "",
        machine_type=args.vertex_machine,
        accelerator=args.vertex_accelerator,
        spot=args.vertex_spot,
    )


def authorized_session() -> Session:
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _project = google.auth.default(scopes=SCOPES)
    return cast(Session, AuthorizedSession(credentials))


def submit_from_args(
    args: argparse.Namespace, config: TrainConfig, session: Session | None = None, poll: float = POLL_SECONDS
) -> int:
    job = _job_from_args(args)
    session = session or authorized_session()
    if args.vertex_follow:
        name = args.vertex_follow
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        display = f"catalogist-classifier-{stamp}"
        extra = [str(e) for e in (args.extra or [])]
        spec = job_spec(job, display, training_args(config, args.publish or "", extra))
        created = submit(session, job, spec)
        name = created["name"]
        print(f"submitted {name}; outputs under {spec['jobSpec']['baseOutputDirectory']['outputUriPrefix']}")
        again = f"catalogist train classifier --vertex --vertex-follow {name} --vertex-region {job.region}"
        print(f"follow it again with: {again}")
        if args.vertex_no_follow:
            return 0
    state = follow(session, job, name, poll=poll)
    return 0 if state == "JOB_STATE_SUCCEEDED" else 1


def publish_release(release, models_bucket: str, storage_client=None) -> str:
    """Publish a finished release into `models_bucket` (gs://BUCKET) as classifier/<version>;
    returns where it went. A version already there is refused, never overwritten."""
    from catalogist.models.kinds import MANIFEST
    from catalogist_training.publish import publish

    bucket = models_bucket.removeprefix("gs://").strip("/")
    if not bucket or "/" in bucket:
        raise ValueError(f"--publish takes a models bucket as gs://BUCKET, not {models_bucket!r}")
    version = json.loads((release / MANIFEST).read_text())["version"]
    destination = f"gs://{bucket}/classifier/{version}"
    if storage_client is None:
        from google.cloud import storage  # type: ignore[attr-defined]

        storage_client = storage.Client()
    publish(release, destination, storage_client)
    log.info("published the release to %s", destination)
    return destination
