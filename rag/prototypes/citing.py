"""Which passages an answer cites: its inline markers read back, whatever form the model wrote them in.

Models write ``[1]``, ``[1, 3]``, ``[2-3]``, ``[Passage 2]``, ``[Source 1]`` or ``【1】``. ``read_citations``
rewrites every such marker as ``[n]`` or ``[n, m]`` (the form the answer page links) and returns the passage
numbers cited, each once in order of first citation, and any number that names no passage the model was given.
An answer that cites nothing is not hidden or repaired: it is flagged, so the reader knows to check it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LABEL = r"(?:(?:passages?|sources?|documents?|docs?|context|refs?)\s*#?\s*)?"
_NUMBER_LIST = rf"{_LABEL}\d+(?:\s*(?:,|;|-|–|and|&)\s*{_LABEL}\d+)*"
_MARKER = re.compile(rf"(?:\[\s*\^?({_NUMBER_LIST})\s*\]|【\s*({_NUMBER_LIST})\s*】)", re.IGNORECASE)
_RANGE = re.compile(r"(\d+)\s*[-–]\s*(\d+)")
MAX_RANGE = 20


@dataclass
class Citations:
    text: str
    cited: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)


def _numbers(group: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*(?:,|;|and|&)\s*", group, flags=re.IGNORECASE):
        digits = re.sub(r"[^\d\-–]", "", part)
        span = _RANGE.fullmatch(digits)
        if span and 0 <= int(span.group(2)) - int(span.group(1)) <= MAX_RANGE:
            numbers.extend(range(int(span.group(1)), int(span.group(2)) + 1))
        else:
            numbers.extend(int(d) for d in re.findall(r"\d+", part))
    return numbers


def read_citations(text: str, *, passages: int) -> Citations:
    """``text`` with its markers in ``[n]`` form, the passages (1..``passages``) it cites and the numbers it invents."""
    cited: list[int] = []
    unknown: list[int] = []

    def rewrite(match: re.Match[str]) -> str:
        numbers = list(dict.fromkeys(_numbers(match.group(1) or match.group(2))))
        for n in numbers:
            target = cited if 1 <= n <= passages else unknown
            if n not in target:
                target.append(n)
        return "[" + ", ".join(str(n) for n in numbers) + "]"

    return Citations(text=_MARKER.sub(rewrite, text), cited=cited, unknown=unknown)


# A sentence: up to its end mark, which may not be a decimal point (8.33) or a thousands separator.
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.,](?=\d))+[.!?]*")
_TOKEN = re.compile(r"\w+(?:[.,]\d+)*")
_DIGITS = re.compile(r"\d")
MIN_WORDS = 3
MIN_SHARED = 0.6  # of a sentence's words that its passage must hold before the product points to it


def _tokens(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(text.casefold()) if len(t) > 3 or _DIGITS.search(t)}


def _holder(sentence: str, holders: list[set[str]]) -> int:
    words = _tokens(sentence)
    if len(words) < MIN_WORDS or _MARKER.search(sentence):
        return 0  # a list number ("1.") or a two-word fragment says too little to point anywhere
    numbers = {w for w in words if _DIGITS.search(w)}
    best, best_share = 0, 0.0
    for n, held in enumerate(holders, start=1):
        share = len(words & held) / len(words)
        if numbers <= held and share > best_share:
            best, best_share = n, share
    return best if best_share >= MIN_SHARED else 0


def match_uncited(text: str, passages: list[str]) -> tuple[str, list[int]]:
    """Point each unmarked sentence to the passage that holds most of its words (and all of its numbers).

    A small model often writes no markers at all; rather than leave its claims untraceable, the product adds
    ``[n]`` where one passage plainly holds the sentence. Sentences no passage holds stay unmarked.
    """
    holders = [_tokens(p) for p in passages]
    matched: list[int] = []
    out: list[str] = []
    cursor = 0
    for match in _SENTENCE.finditer(text):
        out.append(text[cursor : match.start()])
        sentence, cursor = match.group(0), match.end()
        n = _holder(sentence, holders)
        if not n:
            out.append(sentence)
            continue
        body = sentence.rstrip(".!? ")
        out.append(f"{body} [{n}]{sentence[len(body) :]}")
        if n not in matched:
            matched.append(n)
    out.append(text[cursor:])
    return "".join(out), matched
