"""The block layout of an EfficientNet-Lite is read from its weights: stage by stage strides."""

import numpy as np
import pytest

from catalogist_training.backbone import block_strides


def weights_with_block_widths(widths: list[int]) -> dict[str, np.ndarray]:
    return {f"_blocks.{i}._project_conv.weight": np.zeros((width, 8, 1, 1)) for i, width in enumerate(widths)}


def test_each_stage_starts_with_its_stride_and_its_other_blocks_keep_the_size():
    # Lite0: stages of 1, 2, 2, 3, 3, 4 and 1 blocks
    lite0 = [16, 24, 24, 40, 40, 80, 80, 80, 112, 112, 112, 192, 192, 192, 192, 320]

    assert block_strides(weights_with_block_widths(lite0)) == [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]


def test_weights_of_another_shape_are_refused():
    with pytest.raises(ValueError, match="7 stages"):
        block_strides(weights_with_block_widths([16, 24, 24, 40]))
