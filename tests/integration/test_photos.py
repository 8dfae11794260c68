"""Vendor photos through the real emulators: categorized products, or clear rejections."""

from __future__ import annotations

import csv
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from google.cloud.firestore_v1.base_query import FieldFilter
from PIL import Image

from catalogist.models.taxonomy import Taxonomy
from tests.support import dataset_photos, encoded, final_ledger_entry, upload, vendor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning")


def test_a_photo_of_a_vendor_never_seen_before_becomes_a_categorized_product(uploads, firestore, reference_classifier):
    banana = Path(__file__).parents[2] / "infra" / "samples" / "banana.jpg"
    seller = vendor()
    assert not firestore.collection("vendors").document(seller).get().exists
    assert not list(
        firestore.collection("products").where(filter=FieldFilter("vendor", "==", seller)).limit(1).stream()
    )
    blob = upload(uploads, f"{seller}/SKU-100.jpg", banana.read_bytes())

    entry = final_ledger_entry(firestore, uploads.name, blob)

    assert entry["status"] == "done", entry.get("reason")
    assert entry["product_id"] == f"{seller}:SKU-100"
    product = firestore.collection("products").document(f"{seller}:SKU-100").get().to_dict()
    assert (product["vendor"], product["sku"]) == (seller, "SKU-100")
    category = product["image_category"]
    taxonomy = Taxonomy.load(reference_classifier / "taxonomy.json")
    assert tuple(category["path"]) in {leaf[: len(category["path"])] for leaf in taxonomy.leaves}
    assert category["alternatives"][0]["path_text"] == "Fruit/Banana", "the sample is a banana (a leaf at depth 2)"
    assert category["path_text"] in ("Fruit", "Fruit/Banana")
    decided_at = taxonomy.levels.index(category["decided_level"])  # a leaf at depth 2 is decided at "fine" too
    assert set(category["confidence"]) == set(taxonomy.levels[: decided_at + 1])
    assert len(category["alternatives"]) == 5
    assert category["model_version"] == json.loads((reference_classifier / "manifest.json").read_text())["version"]
    assert product["category"]["source"] == "image"
    assert product["needs_review"] == category["needs_review"]
    # no price list has priced it: a rough range from the image category, found by its words
    price = product["photo_price"]
    assert "price" not in product, "only a price-list row writes the price"
    assert (price["rough"], price["mode"], price["currency"]) == (True, "category_text", "INR")
    assert 0 < price["low"] <= price["predicted"] <= price["high"]
    assert price["from_category"] == category["path_text"]
    photo_entry = product["photos"]["SKU-100_jpg"]
    assert photo_entry["object"]["generation"] == str(blob.generation)
    with Image.open(banana) as original:
        assert (photo_entry["image"]["width"], photo_entry["image"]["format"]) == (original.width, "JPEG")


def test_several_photos_of_one_product_combine_into_one_decision(uploads, firestore, reference_classifier):
    (first, _), (second, _) = dataset_photos(reference_classifier, 2)
    seller = vendor()
    blobs = [
        upload(uploads, f"{seller}/SKU-7.jpg", first.read_bytes()),
        upload(uploads, f"{seller}/SKU-7_2.jpg", second.read_bytes()),
        upload(uploads, f"{seller}/any-name.jpg", second.read_bytes(), metadata={"sku": "SKU-7"}),
    ]

    for blob in blobs:
        assert final_ledger_entry(firestore, uploads.name, blob)["product_id"] == f"{seller}:SKU-7"

    product = firestore.collection("products").document(f"{seller}:SKU-7").get().to_dict()
    assert sorted(product["photos"]) == ["SKU-7_2_jpg", "SKU-7_jpg", "any-name_jpg"]
    assert product["image_category"]["photos_used"] == 3


def bomb_png(side: int = 30_000) -> bytes:
    """A valid 1-bit PNG of side × side pixels: about 110 KB of file, 900 megapixels decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + side // 8)
    body = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def bad_photos() -> list[tuple[str, bytes, str]]:
    sample = Image.open(io.BytesIO((Path(__file__).parents[2] / "infra" / "samples" / "banana.jpg").read_bytes()))
    jpeg = encoded(sample, "JPEG", quality=90)
    return [
        ("truncated.jpg", jpeg[: len(jpeg) // 2], "truncated or corrupt"),
        ("zero.jpg", b"", "the object is empty (0 bytes)"),
        (
            "page.jpg",
            b"<!DOCTYPE html><html><body>Not found</body></html>",
            "named .jpg but the content is HTML",
        ),
        ("doc.jpg", encoded(sample, "PDF"), "the content is a PDF document named .jpg"),
        ("bomb.png", bomb_png(), "too large"),
    ]


@pytest.mark.parametrize(("name", "content", "reason"), bad_photos(), ids=[b[0] for b in bad_photos()])
def test_a_bad_photo_is_rejected_with_a_clear_reason(uploads, firestore, name, content, reason):
    blob = upload(uploads, f"{vendor()}/{name}", content)

    entry = final_ledger_entry(firestore, uploads.name, blob)

    assert entry["status"] == "rejected"
    assert reason in entry["reason"]
    assert "product_id" not in entry


def awkward_photos() -> list[tuple[str, bytes]]:
    sample = Image.open(io.BytesIO((Path(__file__).parents[2] / "infra" / "samples" / "banana.jpg").read_bytes()))
    sample.load()
    sixteen_bit = Image.fromarray(np.asarray(sample.convert("L")).astype("uint16") * 257)
    frames = [sample, sample.rotate(90), sample.rotate(180)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return [
        ("cmyk.jpg", encoded(sample.convert("CMYK"), "JPEG")),
        ("sixteen-bit.png", encoded(sixteen_bit, "PNG")),
        ("animated.gif", gif.getvalue()),
        ("palette.png", encoded(sample.convert("P"), "PNG")),
        ("grey.jpg", encoded(sample.convert("L"), "JPEG")),
    ]


@pytest.mark.parametrize(("name", "content"), awkward_photos(), ids=[a[0] for a in awkward_photos()])
def test_unusual_but_valid_photos_are_categorized(uploads, firestore, name, content):
    seller = vendor()
    blob = upload(uploads, f"{seller}/{name}", content)

    entry = final_ledger_entry(firestore, uploads.name, blob)

    assert entry["status"] == "done", entry.get("reason")
    product = firestore.collection("products").document(entry["product_id"]).get().to_dict()
    assert product["image_category"]["path_text"]


def test_a_photo_with_exif_rotation_is_categorized_as_if_upright(uploads, firestore, reference_classifier):
    photo, _ = dataset_photos(reference_classifier, 1)[0]
    upright = Image.open(photo)
    upright.load()
    # Stored sideways, with EXIF orientation 6 telling viewers to turn it back upright.
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways = encoded(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif)
    seller = vendor()
    blobs = [
        upload(uploads, f"{seller}/UPRIGHT.jpg", encoded(upright, "JPEG", quality=95)),
        upload(uploads, f"{seller}/ROTATED.jpg", sideways),
    ]

    entries = [final_ledger_entry(firestore, uploads.name, blob) for blob in blobs]

    products = [firestore.collection("products").document(e["product_id"]).get().to_dict() for e in entries]
    assert products[1]["photos"]["ROTATED_jpg"]["image"]["exif_orientation"] == 6
    assert products[0]["image_category"]["path_text"] == products[1]["image_category"]["path_text"]
    for level, confidence in products[0]["image_category"]["confidence"].items():
        assert products[1]["image_category"]["confidence"][level] == pytest.approx(confidence, abs=0.03)


def test_a_photo_name_without_a_sku_is_rejected(uploads, firestore):
    blob = upload(uploads, f"{vendor()}/.jpg", encoded(Image.new("RGB", (64, 64), "yellow"), "JPEG"))

    entry = final_ledger_entry(firestore, uploads.name, blob)

    assert entry["status"] == "rejected"
    assert "cannot tell the SKU" in entry["reason"]


def test_decisions_in_firestore_equal_the_evaluation_photo_for_photo(
    uploads, firestore, reference_classifier, tmp_path
):
    """Train/serve parity: the function and `catalogist evaluate` agree on 20 validation photos."""
    photos = dataset_photos(reference_classifier, 20)
    assert len(photos) == 20
    manifest = tmp_path / "parity.csv"
    with manifest.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["image", "category"])
        writer.writerows((str(path), truth) for path, truth in photos)
    from catalogist_training.cli import main

    assert (
        main(
            [
                "evaluate",
                "classifier",
                "--model",
                str(reference_classifier),
                "--data",
                str(manifest),
                "--split",
                "parity",
                "--out",
                str(tmp_path / "eval"),
                "--no-robustness",
            ]
        )
        == 0
    )
    evaluated = {row["image"]: row for row in map(json.loads, (tmp_path / "eval" / "predictions.jsonl").open())}
    seller = vendor()
    blobs = {
        path: upload(uploads, f"{seller}/P{number:02d}.jpg", path.read_bytes())
        for number, (path, _) in enumerate(photos)
    }

    for path, blob in blobs.items():
        entry = final_ledger_entry(firestore, uploads.name, blob)
        served = firestore.collection("products").document(entry["product_id"]).get().to_dict()["image_category"]
        offline = evaluated[str(path)]
        assert served["path_text"] == offline["category_path"], path.name
        assert served["decided_level"] == offline["decided_level"], path.name
        assert served["needs_review"] == offline["needs_review"], path.name
        for level, confidence in offline["confidence"].items():
            assert served["confidence"][level] == pytest.approx(confidence, abs=1e-3), path.name
