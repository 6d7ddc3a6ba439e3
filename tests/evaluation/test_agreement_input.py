"""Readers that are not there: reader_agreement and reader_volumes name them instead of returning empty or NaN
columns."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from radlab.errors import InputError
from radlab.evaluation import reader_agreement, reader_volumes

COHORT = SimpleNamespace(name="lidc", masks=["reader1", "reader2"], ids=["n1"])  # refused before any case is read


@pytest.mark.parametrize("fn", [reader_agreement, reader_volumes])
def test_a_reader_that_is_not_a_mask_of_the_cohort_is_named(fn):
    with pytest.raises(InputError, match=rf"'readers' parameter of {fn.__name__} names \['reader5'\], which are not "
                                         r"masks of cohort 'lidc' \(masks: \['reader1', 'reader2'\]\)"):
        fn(COHORT, ["reader1", "reader5"])


def test_a_reader_no_case_has_is_named_for_masks_given_as_arrays():
    a = np.zeros((2, 4, 4), np.uint8)
    a[0, 1:3, 1:3] = 1
    masks = {"n1": {"r1": a, "r2": a}, "n2": {"r1": a, "r3": a}}
    with pytest.raises(InputError, match=r"names \['r4'\], which no case has"):
        reader_agreement(masks, ["r1", "r4"])
    assert reader_agreement(masks, ["r1", "r3"]).case.tolist() == ["n2"]  # a reader some case lacks is fine
