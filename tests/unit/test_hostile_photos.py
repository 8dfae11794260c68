"""Hostile photos (issue 16): pixel bombs behind small files, metadata bombs, headers cut short,
and animations of thousands of frames: a `BadPhoto` with a reason, or the first frame, quickly."""

import io
import zlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from catalogist.errors import BadPhoto
from catalogist.imaging import MAX_PIXELS, photo_pixels
from tests.unit.hostile_inputs import gif_of_frames, png_chunk, png_of_zeros
from tests.unit.hostile_measure import MB, measure
from tests.unit.hostile_mutations import mutated


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, fmt)
    return buffer.getvalue()


def test_a_49_megapixel_png_of_48_kb_is_refused_before_decoding() -> None:
    bomb = png_of_zeros(7_000, 7_000, 7_001 * 7_000)
    assert len(bomb) < 100_000 and MAX_PIXELS < 7_000 * 7_000

    measured = measure("photo", "png_of_zeros", 7_000, 7_000, 7_001 * 7_000)

    assert "more than the 40 megapixel limit" in measured.outcome["rejected"]
    assert measured.peak_growth < 20 * MB  # decoded, the frame alone would take 49 MB


def test_pixel_data_far_past_what_the_header_claims_is_never_inflated() -> None:
    """A 1000×1000 header over an IDAT of 64 MB of zeros: only the first 1 MB is ever needed."""
    measured = measure("photo", "png_of_zeros", 1_000, 1_000, 64 * MB)

    assert measured.outcome["shape"] == [224, 224, 3]
    assert measured.outcome["facts"]["width"] == 1_000
    assert measured.peak_growth < 30 * MB
    assert measured.seconds < 20


@pytest.mark.parametrize(
    ("chunk", "body_prefix"),
    [(b"zTXt", b"comment\0\0"), (b"iTXt", b"comment\0\1\0\0\0"), (b"iCCP", b"profile\0\0")],
)
def test_a_metadata_chunk_that_inflates_past_pillows_cap_is_refused(chunk: bytes, body_prefix: bytes) -> None:
    png = encoded("PNG")
    bomb = png[:33] + png_chunk(chunk, body_prefix + zlib.compress(b"a" * 10 * MB)) + png[33:]

    with pytest.raises(BadPhoto, match=r"metadata .* inflates past the safe limit"):
        photo_pixels(bomb, 224)


@pytest.mark.parametrize(
    "cut",
    [
        lambda: encoded("PNG")[:20],  # inside IHDR
        lambda: encoded("JPEG")[:30],  # inside the JFIF header
        lambda: b"\xff\xd8\xff\xe0\xff\xf0JFIF\0",  # a marker longer than the file
        lambda: encoded("WEBP")[:20],
        lambda: encoded("WEBP")[:12] + b"VP8 " + b"\xff" * 30,
    ],
    ids=["png-ihdr", "jpeg-header", "jpeg-marker", "webp-cut", "webp-junk"],
)
def test_a_header_cut_short_or_damaged_is_a_bad_photo(cut: Callable[[], bytes]) -> None:
    with pytest.raises(BadPhoto, match="truncated or corrupt"):
        photo_pixels(cut(), 224)


def test_a_gif_of_10000_frames_decodes_as_its_first_frame_quickly() -> None:
    assert len(gif_of_frames(10_000, 6_000)) < 300_000

    measured = measure("photo", "gif_of_frames", 10_000, 6_000)

    assert measured.outcome["shape"] == [224, 224, 3]
    assert measured.outcome["facts"]["frames"] == 10_000
    assert measured.outcome["facts"]["width"] == 6_000
    assert measured.seconds < 20
    assert measured.peak_growth < 100 * MB  # the first frame is 36 MB as a palette image


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["PNG", "JPEG", "GIF", "WEBP"]), st.data())
def test_mutated_photos_decode_or_are_bad_photos(fmt: str, data: st.DataObject) -> None:
    """Pillow raises what it likes for damaged files; the photo pipeline must only ever see a
    decoded image or a BadPhoto (a mutation fuzz of 5,000 files found the header cases above)."""
    damaged = data.draw(mutated(encoded(fmt)))

    try:
        pixels = photo_pixels(damaged, 224)
    except BadPhoto as refused:
        assert refused.reason
    else:
        assert pixels.shape == (224, 224, 3)
