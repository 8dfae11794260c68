"""Hostile object names (issue 16): `object_name_problem` decides, before anything is written
under a vendor, whether `<vendor>/<file>` is a name we take; `detect_kind` survives any name."""

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogist.intake.events import MAX_FILE_NAME_CHARS, VENDOR_ID, object_name_problem
from catalogist.vendorfiles.formats import Kind, detect_kind

PROPERTY = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(
    "name",
    ["acme/prices.csv", "acme/2024/06/prices.xlsx", "ACME_foods-2.eu/4006381333931_2.jpg", "a/b", "a" * 64 + "/x.json"],
)
def test_ordinary_names_are_taken(name: str) -> None:
    assert object_name_problem(name) == ""


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("acme/../other/prices.csv", "'.' or '..' path segment"),
        ("acme/./prices.csv", "'.' or '..' path segment"),
        ("../prices.csv", "the vendor folder '..' is not a vendor id"),
        ("./prices.csv", "the vendor folder '.' is not a vendor id"),
        ("acme/..", "'.' or '..' path segment"),
        ("acme/a\\..\\b.csv", "backslash"),
        ("acme/pri\nces.csv", "control character (U+000A) at position 9"),
        ("acme/prices\x00.csv", "control character (U+0000)"),
        ("ac\x1bme/prices.csv", "control character (U+001B)"),
        ("acme/photo\u202egpj.exe", "control character (U+202E)"),
        ("acme/\x85x.jpg", "control character (U+0085)"),
        ("acme/" + "S" * 1_000 + ".jpg", f"1,004 characters long; at most {MAX_FILE_NAME_CHARS}"),
        ("Acme Foods/prices.csv", "the vendor folder 'Acme Foods' is not a vendor id"),
        ("молоко/prices.csv", "is not a vendor id"),
        ("__acme__/prices.csv", "is not a vendor id"),
        ("-acme/prices.csv", "is not a vendor id"),
        ("a" * 65 + "/prices.csv", "is not a vendor id"),
        ("v" * 500 + "/x.csv", "'" + "v" * 67 + "...' is not a vendor id"),
        ("prices.csv", "uploads must be under a vendor folder"),
        ("/prices.csv", "uploads must be under a vendor folder"),
        ("acme/", "names a folder, not a file"),
        ("acme//prices.csv", "empty folder"),
    ],
)
def test_hostile_names_are_refused_with_a_reason(name: str, reason: str) -> None:
    assert reason in object_name_problem(name)


@PROPERTY
@given(st.text(max_size=300))
def test_any_name_is_either_taken_safely_or_refused(name: str) -> None:
    problem = object_name_problem(name)

    if not problem:
        vendor, _, path = name.partition("/")
        segments = path.split("/")
        assert VENDOR_ID.fullmatch(vendor)
        assert all(segment not in ("", ".", "..") for segment in segments)
        assert all(ord(c) >= 32 and not 0x7F <= ord(c) <= 0x9F for c in name)
        assert len(segments[-1]) <= MAX_FILE_NAME_CHARS
    else:
        assert isinstance(problem, str) and not any(ord(c) < 32 for c in problem)


@PROPERTY
@given(
    st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=64).filter(
        lambda v: v[0].isalnum()
    ),
    st.text(alphabet=string.ascii_letters + string.digits + " ._-()", min_size=1, max_size=100).filter(
        lambda f: f not in (".", "..")
    ),
)
def test_every_vendor_id_and_plain_file_name_is_taken(vendor: str, file_name: str) -> None:
    assert object_name_problem(f"{vendor}/{file_name}") == ""


@PROPERTY
@given(st.text(max_size=300), st.text(max_size=100), st.binary(max_size=2_000))
def test_detect_kind_decides_for_any_name_type_and_first_bytes(name: str, content_type: str, head: bytes) -> None:
    verdict = detect_kind(name, content_type, head)

    assert verdict.kind in (Kind.PHOTO, Kind.VENDOR_FILE, Kind.UNSUPPORTED)
    assert (verdict.kind is Kind.UNSUPPORTED) == bool(verdict.reason)
