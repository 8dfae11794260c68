"""Launching an import job as a Dataflow Flex Template: the REST call on_upload makes
(`projects.locations.flexTemplates.launch`), against a recording stand-in for the Dataflow API on
loopback, signed by google-auth as in GCP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from google.auth import credentials as ga_credentials
from google.auth.transport.requests import AuthorizedSession

from catalogist.adapters.dataflow import DataflowJobs, LaunchRefused
from catalogist.settings import Settings, job_parameters
from catalogist.wiring import dataflow_environment

TEMPLATE = "gs://shop-jobs/templates/import.json"


class TokenCredentials(ga_credentials.Credentials):
    """Credentials with a fixed token, as the instance's would have after a refresh."""

    def __init__(self) -> None:
        super().__init__()
        self.token = "instance-token"

    def refresh(self, request: Any) -> None:
        self.token = "instance-token"

    @property
    def expired(self) -> bool:
        return False

    @property
    def valid(self) -> bool:
        return True


class StandIn:
    """The Dataflow API's launch method: records each request; answers as Dataflow does (the job,
    409 for a second active job of one name, or an error status the test sets)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.active: set[str] = set()
        self.refuse: tuple[int, str] | None = None
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.requests.append(
                    {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                )
                name = body["launchParameter"]["jobName"]
                if stand_in.refuse:
                    status, message = stand_in.refuse
                    answer: dict[str, Any] = {"error": {"code": status, "message": message}}
                elif name in stand_in.active:
                    status, answer = 409, {"error": {"code": 409, "message": f"already an active job named {name}"}}
                else:
                    stand_in.active.add(name)
                    status, answer = 200, {"job": {"id": f"2026-12-06_{len(stand_in.active):04d}", "name": name}}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def dataflow() -> Iterator[StandIn]:
    stand_in = StandIn()
    thread = threading.Thread(target=stand_in.server.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()
    thread.join()


def settings() -> Settings:
    return Settings.from_env(
        {
            "GOOGLE_CLOUD_PROJECT": "shop",
            "CATALOGIST_MODELS_BUCKET": "shop-models",
            "CATALOGIST_IMPORT_JOBS": "dataflow",
            "CATALOGIST_IMPORT_JOB_TEMPLATE": TEMPLATE,
            "CATALOGIST_DATAFLOW_REGION": "europe-west1",
            "CATALOGIST_DATAFLOW_SERVICE_ACCOUNT": "catalogist-dataflow@shop.iam.gserviceaccount.com",
            "CATALOGIST_DATAFLOW_TEMP_LOCATION": "gs://shop-jobs/dataflow/tmp",
            "CATALOGIST_DATAFLOW_STAGING_LOCATION": "gs://shop-jobs/dataflow/staging",
            "CATALOGIST_DATAFLOW_SUBNETWORK": "regions/europe-west1/subnetworks/batch",
        }
    )


@pytest.fixture
def launcher(dataflow: StandIn) -> Iterator[DataflowJobs]:
    given = settings()
    session = AuthorizedSession(TokenCredentials())
    yield DataflowJobs(
        given.project,
        given.dataflow_region,
        given.import_job_template,
        dataflow_environment(given),
        session,
        dataflow.url,
    )
    session.close()


def test_a_launch_names_the_template_the_workers_and_where_they_stage_signed_by_the_instance(dataflow, launcher):
    parameters = {**job_parameters(settings()), "upload_id": "ab" * 20, "file_format": "csv"}

    launched = launcher.launch("catalogist-import-abababab", parameters)

    (request,) = dataflow.requests
    assert request["path"] == "/v1b3/projects/shop/locations/europe-west1/flexTemplates:launch"
    assert request["headers"]["authorization"] == "Bearer instance-token"
    launch = request["body"]["launchParameter"]
    assert (launch["jobName"], launch["containerSpecGcsPath"]) == ("catalogist-import-abababab", TEMPLATE)
    assert launch["environment"] == {
        "serviceAccountEmail": "catalogist-dataflow@shop.iam.gserviceaccount.com",
        "tempLocation": "gs://shop-jobs/dataflow/tmp",
        "stagingLocation": "gs://shop-jobs/dataflow/staging",
        "subnetwork": "regions/europe-west1/subnetworks/batch",
        "maxWorkers": 8,
        "additionalUserLabels": {"app": "catalogist", "job": "import"},
    }
    # Dataflow gives the job its project itself, and refuses empty parameters
    assert "project" not in launch["parameters"] and "" not in launch["parameters"].values()
    assert launch["parameters"]["upload_id"] == "ab" * 20
    assert launch["parameters"]["textcat_release"] == "gs://shop-models/textcat"
    assert (launched.runner, launched.id) == ("dataflow", "2026-12-06_0001")
    assert launched.console.endswith("/dataflow/jobs/europe-west1/2026-12-06_0001?project=shop")


def test_launching_an_active_job_again_starts_no_second_one(dataflow, launcher):
    launcher.launch("catalogist-import-abababab", {"upload_id": "ab" * 20})

    again = launcher.launch("catalogist-import-abababab", {"upload_id": "ab" * 20})

    assert len(dataflow.requests) == 2 and dataflow.active == {"catalogist-import-abababab"}
    assert (again.name, again.runner) == ("catalogist-import-abababab", "dataflow")


def test_a_refused_launch_is_a_transient_failure_with_dataflow_s_reason(dataflow, launcher):
    dataflow.refuse = (403, "Permission 'dataflow.jobs.create' denied")

    with pytest.raises(LaunchRefused, match=r"403 Permission 'dataflow\.jobs\.create' denied"):
        launcher.launch("catalogist-import-abababab", {"upload_id": "ab" * 20})


def test_no_subnetwork_setting_sends_none():
    given = Settings.from_env({**{"GOOGLE_CLOUD_PROJECT": "shop", "CATALOGIST_MODELS_BUCKET": "m"}})

    assert "subnetwork" not in DataflowJobs("shop", "r", TEMPLATE, dataflow_environment(given)).environment
