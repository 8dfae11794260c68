"""The demo's account of its photos counts a decision right as far as it goes."""

from catalogist_infra.demo import _same, _within


def test_a_decision_is_right_as_far_as_it_goes_and_wrong_past_it():
    assert _within("Fruit", "Fruit/Apple/Pink-Lady")
    assert not _within("Fruit/Melon/Watermelon", "Fruit/Melon/Honeydew-Melon")
    assert not _same("", "Fruit/Kiwi") and _same("Fruit/Kiwi", "Fruit/Kiwi")
    assert not _within("Fruit/Kiwi/Kiwi", "Fruit/Kiwi"), "a padded name is not the category"
