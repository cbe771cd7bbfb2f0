from __future__ import annotations

import itertools
from typing import Any

import pytest

from deployments.loadtest.workloads import replay, shared_prefix, synthetic


def test_synthetic_prompts_follow_the_lengths_and_the_seed() -> None:
    args: dict[str, Any] = {
        "seed": 3,
        "input_tokens": 50,
        "input_sd": 10,
        "output_tokens": 20,
        "output_sd": 0,
        "fixed_output": True,
    }
    first = list(itertools.islice(synthetic(**args), 200))
    again = list(itertools.islice(synthetic(**args), 200))
    assert first == again
    words = [len(p.messages[0]["content"].split()) for p in first]
    assert 45 < sum(words) / len(words) < 55 and len(set(words)) > 5
    assert all(p.max_tokens == 20 and p.fixed_output for p in first)


def test_shared_prefix_prompts_start_with_the_same_text() -> None:
    prompts = list(itertools.islice(shared_prefix(seed=1, prefix_tokens=300, input_tokens=20, input_sd=0,
                                                  output_tokens=8, output_sd=0, fixed_output=False), 5))  # fmt: skip
    systems = {p.messages[0]["content"] for p in prompts}
    assert len(systems) == 1 and len(systems.pop().split()) == 300
    assert len({p.messages[1]["content"] for p in prompts}) == 5


def test_replay_cycles_through_the_questions_and_refuses_none() -> None:
    prompts = list(itertools.islice(replay(questions=["a?", "b?"], seed=0, output_tokens=8, output_sd=0,
                                           fixed_output=False), 4))  # fmt: skip
    assert sorted(p.messages[0]["content"] for p in prompts) == ["a?", "a?", "b?", "b?"]
    with pytest.raises(ValueError, match="no logged questions"):
        next(replay(questions=[], seed=0, output_tokens=8, output_sd=0, fixed_output=False))
