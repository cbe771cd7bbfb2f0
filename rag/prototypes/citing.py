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
