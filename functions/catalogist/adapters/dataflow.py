"""Launching import jobs as Dataflow Flex Templates, through the Dataflow REST API
(`projects.locations.flexTemplates.launch`) with the function's own credentials (google-auth,
already in the bundle: no Dataflow client library, and no Beam, in the function).

The job's name comes from its upload, and Dataflow refuses a second active job of one name
(409), so a launch repeated after a lost answer starts nothing new: it is taken as launched.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from catalogist.errors import CatalogistError
from catalogist.ports import LaunchedJob

API = "https://dataflow.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
TIMEOUT_SECONDS = 60.0


class LaunchRefused(CatalogistError):
    """Dataflow did not accept the job (no template spec, no permission, bad parameters): the
    delivery fails and is retried, and the upload ends `failed` after its attempts."""


class DataflowJobs:
    def __init__(
        self,
        project: str,
        region: str,
        template: str,
        environment: Mapping[str, Any],
        session: Any = None,
        endpoint: str = API,
    ) -> None:
        """`environment`: the launch's FlexTemplateRuntimeEnvironment (service account, temp and
        staging locations, subnetwork, workers). `session`: a requests-like session that signs its
        requests; by default google-auth's, with the instance's credentials."""
        self._project, self._region, self._template = project, region, template
        self._environment = {key: value for key, value in environment.items() if value not in ("", None)}
        self._given_session = session
        self._endpoint = endpoint.rstrip("/")

    @property
    def environment(self) -> dict[str, Any]:
        """What each launch asks of Dataflow for its workers (empty settings left out)."""
        return dict(self._environment)

    @cached_property
    def session(self) -> Any:
        if self._given_session is not None:
            return self._given_session
        import google.auth
        from google.auth.transport.requests import AuthorizedSession

        credentials, _ = google.auth.default(scopes=SCOPES)
        return AuthorizedSession(credentials)

    def launch(self, name: str, parameters: Mapping[str, str]) -> LaunchedJob:
        url = f"{self._endpoint}/v1b3/projects/{self._project}/locations/{self._region}/flexTemplates:launch"
        body = {
            "launchParameter": {
                "jobName": name,
                "containerSpecGcsPath": self._template,
                # Dataflow gives the job its own --project (and refuses it as a parameter); empty
                # values are the settings' defaults, and a template parameter may not be empty.
                "parameters": {k: v for k, v in parameters.items() if k != "project" and v != ""},
                "environment": self._environment,
            }
        }
        response = self.session.post(url, json=body, timeout=TIMEOUT_SECONDS)
        if response.status_code == 409:  # this upload's job is active already: launched before
            return LaunchedJob(name, "", "dataflow", self.console(""))
        if response.status_code >= 400:
            raise LaunchRefused(f"Dataflow refused the import job {name}: {response.status_code} {_message(response)}")
        job = response.json().get("job") or {}
        return LaunchedJob(name, str(job.get("id", "")), "dataflow", self.console(str(job.get("id", ""))))

    def console(self, job_id: str) -> str:
        if not job_id:
            return f"https://console.cloud.google.com/dataflow/jobs?project={self._project}"
        return f"https://console.cloud.google.com/dataflow/jobs/{self._region}/{job_id}?project={self._project}"


def _message(response: Any) -> str:
    try:
        return str(response.json()["error"]["message"])[:500]
    except (ValueError, KeyError, TypeError):
        return str(response.text)[:500]
