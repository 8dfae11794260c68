"""`catalogist release publish`: a checked release goes up whole, manifest last, and never over
an existing version. A fake client stands in for Cloud Storage (create-only writes included)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from catalogist_infra.cli import build_parser
from catalogist_training.publish import PublishError, parse_destination, publish
from tests.support import FakeStorage
from tests.terraform.hcl import REPO

FIXTURE = REPO / "tests" / "fixtures" / "classifier-release"
VERSION = "test-fixture"  # the fixture manifest's version


def test_a_checked_release_is_uploaded_whole_with_its_manifest_last() -> None:
    storage = FakeStorage()

    written = publish(FIXTURE, f"gs://shop-models/classifier/{VERSION}", storage)

    assert written[-1] == f"classifier/{VERSION}/manifest.json"
    assert sorted(written) == sorted(f"classifier/{VERSION}/{p.name}" for p in FIXTURE.iterdir())
    for name in written:
        assert storage.store[("shop-models", name)] == (FIXTURE / name.rsplit("/", 1)[1]).read_bytes()


def test_an_existing_version_is_never_overwritten() -> None:
    storage = FakeStorage()
    publish(FIXTURE, f"gs://shop-models/classifier/{VERSION}", storage)
    before = dict(storage.store)

    with pytest.raises(PublishError, match="already exists"):
        publish(FIXTURE, f"gs://shop-models/classifier/{VERSION}", storage)

    assert storage.store == before


class LateCheck(FakeStorage):
    """Another publish writes after this one's existence check."""

    def list_blobs(self, bucket_or_name: Any, prefix: str | None = None, max_results: int | None = None) -> list[Any]:
        return []


def test_a_racing_publisher_is_refused_not_overwritten() -> None:
    storage = LateCheck()
    storage.store[("shop-models", f"classifier/{VERSION}/model.tflite")] = b"theirs"

    with pytest.raises(PublishError, match="another publish"):
        publish(FIXTURE, f"gs://shop-models/classifier/{VERSION}", storage)

    assert storage.store[("shop-models", f"classifier/{VERSION}/model.tflite")] == b"theirs"


def test_a_tampered_release_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    folder = tmp_path / "release"
    shutil.copytree(FIXTURE, folder)
    (folder / "taxonomy.json").write_text("{}")
    storage = FakeStorage()

    with pytest.raises(PublishError, match="sha256"):
        publish(folder, f"gs://shop-models/classifier/{VERSION}", storage)

    assert storage.store == {}


def test_a_release_of_another_kind_is_refused() -> None:
    with pytest.raises(PublishError, match="not a price release"):
        publish(FIXTURE, f"gs://shop-models/price/{VERSION}", FakeStorage())


def test_the_destination_must_name_the_manifests_version() -> None:
    with pytest.raises(PublishError, match=f"classifier/{VERSION}"):
        publish(FIXTURE, "gs://shop-models/classifier/v2", FakeStorage())


@pytest.mark.parametrize(
    "destination",
    [
        "gs://shop-models/classifier",
        "shop-models/classifier/v1",
        "gs://shop-models/images/v1",
        "gs://shop-models/classifier/v1/extra",
    ],
)
def test_a_destination_that_is_not_bucket_kind_version_is_refused(destination: str) -> None:
    with pytest.raises(PublishError):
        parse_destination(destination)


@pytest.mark.parametrize("kind", ["textcat", "price"])
def test_a_release_published_as_another_kind_is_refused(kind: str) -> None:
    with pytest.raises(PublishError, match=f"not a {kind} release"):
        publish(FIXTURE, f"gs://shop-models/{kind}/{VERSION}", FakeStorage())


def test_the_command_is_registered() -> None:
    args = build_parser().parse_args(["release", "publish", str(FIXTURE), f"gs://shop-models/classifier/{VERSION}"])

    assert args.source == str(FIXTURE)
    assert args.destination == f"gs://shop-models/classifier/{VERSION}"
    assert args.func.__module__ == "catalogist_infra.release"
