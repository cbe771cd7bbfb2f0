from __future__ import annotations

import math

import pytest

from deployments.histograms import bucket_increase, counter_increase, quantile

INF = math.inf
LE = [0.1, 0.5, 1.0, INF]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.1, 0.05),  # rank 1 in the first bucket: 0 + 0.1 * 1/2
        (0.5, 0.4),  # rank 5: second bucket holds ranks 2..6; 0.1 + 0.4 * (5 - 2) / 4
        (0.9, 1.0),  # rank 9: third bucket; 0.5 + 0.5 * (9 - 6) / 3
        (0.95, 1.0),  # rank 9.5 falls in +Inf: the highest finite bound
        (0.0, 0.0),  # rank 0: the first bucket, interpolated from 0
    ],
)
def test_quantile_interpolates_inside_the_bucket_like_histogram_quantile(q, expected):
    assert quantile(q, LE, [2, 6, 9, 10]) == pytest.approx(expected)


def test_an_interval_without_observations_has_no_percentile():
    assert quantile(0.95, LE, [0, 0, 0, 0]) is None


def test_buckets_without_inf_have_no_percentile():
    assert quantile(0.5, [0.1, 0.5, 1.0], [2, 6, 9]) is None


def test_non_monotonic_buckets_are_flattened_to_their_envelope():
    # 5 observations; the second bucket's count (2) below the first's (3) is raised to 3, so rank 2.5 stays in the
    # first bucket: 0.1 * 2.5 / 3
    assert quantile(0.5, LE, [3, 2, 5, 5]) == pytest.approx(0.1 * 2.5 / 3)


def test_a_bound_at_or_below_zero_is_returned_as_is():
    assert quantile(0.1, [0.0, 1.0, INF], [4, 8, 8]) == 0.0


def test_counter_increase_treats_a_drop_as_a_restart():
    assert counter_increase(None, 7) == (0.0, False)
    assert counter_increase(10, 15) == (5, False)
    assert counter_increase(10, 3) == (3, True)  # restarted at 0 and counted 3 since


def test_bucket_increase_applies_the_reset_rule_per_bucket():
    increases, reset = bucket_increase([5, 10, 12, 12], [1, 3, 4, 4])
    assert (increases, reset) == ([1, 3, 4, 4], True)
    assert quantile(0.5, LE, increases) == pytest.approx(0.1 + 0.4 * (2 - 1) / 2)
    assert bucket_increase([1, 2, 3, 3], [2, 4, 6, 6]) == ([1, 2, 3, 3], False)
