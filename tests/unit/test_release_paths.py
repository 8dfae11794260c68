"""A release folder given to `dev up` (flag or environment) is the folder the user meant: the
one named from where the command ran, checked before anything starts; and the function refuses
to start on a local release folder that holds none."""

import argparse

import pytest

from catalogist.errors import ModelError
from catalogist.settings import Settings
from catalogist.wiring import check_local_releases
from catalogist_infra.dev import release_env
from catalogist_infra.processes import StackError
from tests.support import REPO


def args(**releases: str) -> argparse.Namespace:
    return argparse.Namespace(**{f"{kind}_release": releases.get(kind) for kind in ("classifier", "textcat", "price")})


def test_a_relative_release_is_resolved_where_the_command_ran(monkeypatch):
    monkeypatch.chdir(REPO)

    env = release_env(args(classifier="models/classifier"))

    assert env["CATALOGIST_CLASSIFIER_RELEASE"] == str(REPO / "models" / "classifier")


def test_a_release_that_is_not_there_is_refused_with_its_path(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(StackError, match=f"no classifier release at {tmp_path}/models/classifier"):
        release_env(args(classifier="models/classifier"))


def test_a_gs_release_is_handed_on_as_given():
    env = release_env(args(textcat="gs://shop-models/textcat/v3"))

    assert env["CATALOGIST_TEXTCAT_RELEASE"] == "gs://shop-models/textcat/v3"


def test_the_function_refuses_to_start_on_a_local_folder_without_a_release(tmp_path):
    settings = Settings.from_env(
        {"GOOGLE_CLOUD_PROJECT": "p", "CATALOGIST_MODELS_BUCKET": "m", "CATALOGIST_CLASSIFIER_RELEASE": str(tmp_path)}
    )

    with pytest.raises(ModelError, match=r"CATALOGIST_CLASSIFIER_RELEASE .* holds no model release"):
        check_local_releases(settings)
