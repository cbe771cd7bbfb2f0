"""Spotting a small model that has started to repeat itself, so generation stops instead of filling max_tokens.

Sampling penalties make loops rarer but do not end them: a greedy 135M model still writes "The above explanation is
correct." until the token limit. ``looping`` says when the text so far ends in a loop; ``without_repeats`` keeps
each sentence's first occurrence.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^.!?\n]*[^.!?\n\s][^.!?\n]*(?:[.!?]+|\n|$)")
MIN_SENTENCE_CHARS = 12
SENTENCE_REPEATS = 3  # the same sentence this often is a loop, not emphasis
MAX_PERIOD_CHARS = 200
PERIOD_REPEATS = 3
MIN_LOOP_CHARS = 30


def _key(sentence: str) -> str:
    return " ".join(sentence.lower().split()).rstrip(".!?")


def _sentences(text: str) -> list[str]:
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def looping(text: str) -> bool:
    """True when ``text`` ends in the same span written three times back to back, or repeats one sentence 3 times."""
    tail = text.rstrip()
    for period in range(1, min(MAX_PERIOD_CHARS, len(tail) // PERIOD_REPEATS) + 1):
        if period * PERIOD_REPEATS < MIN_LOOP_CHARS:
            continue
        unit = tail[-period:]
        if tail.endswith(unit * PERIOD_REPEATS) and unit.strip():
            return True
    counts: dict[str, int] = {}
    for sentence in _sentences(text):
        key = _key(sentence)
        if len(key) < MIN_SENTENCE_CHARS:
            continue
        counts[key] = counts.get(key, 0) + 1
        if counts[key] >= SENTENCE_REPEATS:
            return True
    return False


def without_repeats(text: str) -> str:
    """``text`` with every repeated sentence after its first occurrence left out (short ones are kept)."""
    seen: set[str] = set()
    kept: list[str] = []
    for sentence in _sentences(text):
        key = _key(sentence)
        if len(key) >= MIN_SENTENCE_CHARS and key in seen:
            continue
        seen.add(key)
        kept.append(sentence)
    return "".join(kept).strip()
