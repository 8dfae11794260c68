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


def test_a_store_map_is_attached_only_when_both_trees_have_its_nodes_and_published_with_its_release(
    tmp_path: Path,
) -> None:
    """`catalogist release map` (one category per product, docs/training.md §8) on the fixture
    classifier and the committed BigBasket text release: a bad map is refused whole, a good one
    becomes part of the release the publisher checks and sends."""
    import json

    from catalogist.models.classifier import PhotoClassifier
    from catalogist_infra.release import attach_map

    release = tmp_path / "release"
    shutil.copytree(FIXTURE, release)
    leaf = PhotoClassifier.open(release).taxonomy.leaves[0]
    store_tree = REPO / "models" / "textcat"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nodes": {"Fruit/Dragonfruit": "Beverages", "/".join(leaf[:1]): "Nowhere/At all"}}))
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"nodes": {"/".join(leaf[:1]): "Fruits & Vegetables/Fresh Fruits"}}))

    with pytest.raises(PublishError) as refused:
        attach_map(release, bad, store_tree)
    manifest = attach_map(release, good, store_tree)
    written = publish(release, f"gs://shop-models/classifier/{manifest['version']}", FakeStorage())

    assert "Fruit/Dragonfruit is no category of the photo model" in str(refused.value)
    assert "Nowhere/At all: no such category in the store's tree" in str(refused.value)
    assert "store-map.json" in manifest["files"] and manifest["changed_after"][-1]["command"].startswith(
        "catalogist release map"
    )
    assert f"classifier/{manifest['version']}/store-map.json" in written
    placed = PhotoClassifier.open(release).store_map
    assert placed is not None and placed.place(leaf) == ("Fruits & Vegetables", "Fresh Fruits")


def test_a_store_map_not_attached_through_release_map_is_refused_at_publish(tmp_path: Path) -> None:
    import json

    from catalogist.models.kinds import CLASSIFIER
    from catalogist_training.release_manifest import write_manifest

    release = tmp_path / "release"
    shutil.copytree(FIXTURE, release)
    (release / "store-map.json").write_text(json.dumps({"nodes": {"Fruit": "Fruits & Vegetables"}}))
    manifest = write_manifest(release, CLASSIFIER)  # lists the map, but nobody checked it

    with pytest.raises(PublishError, match="not attached with `catalogist release map`"):
        publish(release, f"gs://shop-models/classifier/{manifest['version']}", FakeStorage())
