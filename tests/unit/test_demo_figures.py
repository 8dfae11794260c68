"""The demo's account of its photos counts a decision right by the category it names, whatever
depth the serving release's tree gives it."""

from catalogist_infra.demo import _same, _within


def test_a_release_made_before_mixed_depths_is_right_about_a_short_category():
    # the committed reference release still names Fruit/Banana as Fruit/Banana/Banana
    assert _within("Fruit/Banana/Banana", "Fruit/Banana")
    assert _same("Fruit/Kiwi/Kiwi", "Fruit/Kiwi")


def test_a_decision_is_right_as_far_as_it_goes_and_wrong_past_it():
    assert _within("Fruit", "Fruit/Apple/Pink-Lady")
    assert not _within("Fruit/Melon/Watermelon", "Fruit/Melon/Honeydew-Melon")
    assert not _same("", "Fruit/Kiwi")
