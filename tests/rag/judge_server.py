"""A small OpenAI-compatible judge server that grades by fixed rules, for testing the judge check end to end.

``rules`` grades faithfulness by whether every pair of neighbouring words of the answer occurs in the context (a
changed number or an added "not" breaks a pair) and relevance by whether a short answer shares a content word with
the question. ``constant`` grades everything 5: a judge that cannot tell anything apart.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
STOP = {"what", "which", "does", "within", "with", "that", "this", "from", "have", "must", "many", "much", "the"}


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def grade(mode: str, user: str) -> dict[str, Any]:
    if mode == "constant":
        return {"rationale": "Looks fine.", "faithfulness": 5, "relevance": 5}
    context = user.split("Context:\n", 1)[1].split("\n\nQuestion: ", 1)[0]
    question = user.split("\n\nQuestion: ", 1)[1].split("\n\nAnswer: ", 1)[0]
    answer = user.split("\n\nAnswer: ", 1)[1].rsplit("\n\nGrade the answer.", 1)[0]
    context_words = _words(context)
    pairs = set(itertools.pairwise(context_words))
    answer_words = _words(answer)
    faithful = all(pair in pairs for pair in itertools.pairwise(answer_words))
    topical = {w for w in _words(question) if len(w) > 3 and w not in STOP}
    relevant = len(answer) < 200 and bool(topical & set(answer_words))
    return {
        "rationale": f"pairs {'found' if faithful else 'missing'}; topic {'shared' if relevant else 'missing'}",
        "faithfulness": 5 if faithful else 1,
        "relevance": 5 if relevant else 1,
    }


def _handler(mode: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # /v1/models
            self._send_json({"object": "list", "data": [{"id": "judge", "object": "model"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
            text = json.dumps(grade(mode, user))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece, finish in ((text, None), ("", "stop")):
                chunk = {
                    "id": "judge-1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "judge",
                    "choices": [
                        {"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": finish}
                    ],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

        def _send_json(self, data: dict[str, Any]) -> None:
            payload = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def judge_server(mode: str) -> Iterator[str]:
    """Serve the judge on a free local port for the block; yields its ``/v1`` base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(mode))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
