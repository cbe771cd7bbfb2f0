"""The shape of a prompt's beginning, for prefix-cache advice: hashes of its first K tokens for a ladder of K.

A prefix-caching server (vLLM's automatic prefix caching) reuses the KV cache of a new request's leading tokens
when an earlier request began with exactly the same tokens, in whole blocks of 16. Reuse ends at the first token
that differs. Two requests whose hashes at K agree share at least their first K tokens.

Tokens here are the gateway's own count: the prompt split the way GPT-2-style tokenizers pre-split text (words
with their leading space, runs of digits, runs of punctuation, runs of spaces). The model's tokenizer splits some of
those pieces further, so K is a slight undercount of model tokens; the advice page converts with the measured ratio
of the server's prompt-token counts to these. Keeping the count model-independent means every deployment, local
or remote, can be analysed without its tokenizer, at a cost of about 0.1 ms per prompt.

Chat prompts are rendered as role markers and contents in order, as chat templates do; the template's exact
markers do not matter for where two prompts first differ.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

# Multiples of vLLM's 16-token block, denser at the start where templates usually differ.
LADDER: tuple[int, ...] = (16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)

_PIECE = re.compile(r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d{1,3}| ?[^\s\w]+|\s+(?!\S)|\s+""")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+|\n+")
MIN_BLOCK_TOKENS = 12


@dataclass
class PromptShape:
    tokens: int
    hashes: list[int] = field(default_factory=list)
    block_hash: int | None = None
    block_start: int | None = None
    block_tokens: int | None = None

    def as_fields(self) -> dict[str, Any]:
        """The ``PromptPrefix`` columns for this shape."""
        return {
            "tokens": self.tokens,
            "hashes": self.hashes,
            "block_hash": self.block_hash,
            "block_start": self.block_start,
            "block_tokens": self.block_tokens,
        }


def _signed64(digest: bytes) -> int:
    return int.from_bytes(digest, "big", signed=True)


def render_chat(messages: Any, tools: Any = None) -> str:
    """The text a chat template would put in front of the model, near enough to locate where prompts differ."""
    parts: list[str] = []
    if tools:
        parts.append("<|tools|>\n" + json.dumps(tools, sort_keys=True, separators=(",", ":")) + "\n")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, list):  # content parts: keep text, mark everything else by its type
            content = "".join(
                p.get("text", "") if p.get("type") == "text" else f"<{p.get('type', 'part')}>"
                for p in content
                if isinstance(p, dict)
            )
        parts.append(f"<|{message.get('role', 'user')}|>\n{content or ''}\n")
    return "".join(parts)


def render_completion_prompt(prompt: Any) -> str:
    if isinstance(prompt, list) and prompt:
        prompt = prompt[0]  # a batch of prompts: the first stands for the call
    if isinstance(prompt, list):  # token ids: each id is one token already
        return " ".join(str(t) for t in prompt)
    return prompt if isinstance(prompt, str) else ""


def shape_of(text: str) -> PromptShape:
    """Hashes of the first K tokens for each K in ``LADDER`` that the prompt reaches, and its longest sentence."""
    ends = [m.end() for m in _PIECE.finditer(text)]
    shape = PromptShape(tokens=len(ends))
    digest = hashlib.blake2b(digest_size=8)
    done = 0
    for k in LADDER:
        if k > len(ends):
            break
        digest.update(text[done : ends[k - 1]].encode())
        done = ends[k - 1]
        shape.hashes.append(_signed64(digest.copy().digest()))
    _longest_sentence(text, ends, shape)
    return shape


def _longest_sentence(text: str, ends: list[int], shape: PromptShape) -> None:
    """The longest sentence is usually fixed instruction text; where it starts tells whether variable text leads."""
    best: tuple[int, int] | None = None
    start = 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        stop = match.start() if match else len(text)
        if best is None or stop - start > best[1] - best[0]:
            best = (start, stop)
        start = match.end() if match else start
    if best is None:
        return
    first = bisect.bisect_right(ends, best[0])
    last = bisect.bisect_left(ends, best[1])
    if last - first + 1 < MIN_BLOCK_TOKENS:
        return
    shape.block_hash = _signed64(hashlib.blake2b(text[best[0] : best[1]].strip().encode(), digest_size=8).digest())
    shape.block_start = first
    shape.block_tokens = last - first + 1


def shape_of_request(path: str, body: dict[str, Any]) -> PromptShape | None:
    """The prompt shape of an OpenAI-style request body, or None for requests without a prompt (embeddings)."""
    if path.endswith("chat/completions"):
        return shape_of(render_chat(body.get("messages"), body.get("tools")))
    if path.endswith("/completions"):
        return shape_of(render_completion_prompt(body.get("prompt")))
    return None
