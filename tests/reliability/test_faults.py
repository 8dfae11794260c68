"""At-least-once delivery, stalls, resets and kills: every scenario ends complete, with no row
lost and nothing done twice (tests/reliability/scenarios.py; bench/reliability.py prints the
same scenarios as a table)."""

from __future__ import annotations

import pytest

from tests.integration.test_photos import dataset_photos

pytestmark = [pytest.mark.timeout(900), pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")]


def assert_clean(result) -> None:
    assert result.complete, result
    assert (result.rows_lost, result.duplicates) == (0, 0), result


def test_a_redelivery_storm_runs_the_upload_once(harness, reference_classifier):
    photo, _ = dataset_photos(reference_classifier, 1)[0]
    assert_clean(harness.redelivery_storm(photo))


def test_firestore_stalling_mid_import_loses_nothing(harness):
    assert_clean(harness.firestore_stall(seconds=10))


def test_connections_reset_mid_import_lose_nothing(harness):
    result = harness.connection_resets(times=3)
    assert harness.proxy.resets >= 3
    assert_clean(result)


def test_a_function_killed_mid_import_is_finished_by_the_redelivery(harness):
    assert_clean(harness.function_killed_mid_import())


def test_a_function_killed_mid_photo_is_finished_by_the_redelivery(harness, reference_classifier):
    photos = [path for path, _ in dataset_photos(reference_classifier, 24)]
    assert_clean(harness.function_killed_mid_photos(photos))


def test_a_photo_and_its_row_landing_together_keep_every_field(harness, reference_classifier):
    photos = [path for path, _ in dataset_photos(reference_classifier, 6)]
    assert_clean(harness.photo_and_row_together(photos))
