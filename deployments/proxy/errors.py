"""OpenAI-style errors: every failure the gateway reports is ``{"error": {"message", "type", "code", "param"}}``."""

from __future__ import annotations

import json
import math

from starlette.responses import Response


class GatewayError(Exception):
    """A failure to report to the caller; ``message`` says what happened and what to do, never how we are built."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        kind: str = "invalid_request_error",
        retry_after: float | None = None,
        param: str | None = None,
        log_status: str = "error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.kind = kind
        self.retry_after = retry_after
        self.param = param
        self.log_status = log_status

    def body(self) -> bytes:
        error = {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}
        return json.dumps({"error": error}).encode()

    def response(self) -> Response:
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return Response(self.body(), status_code=self.status, media_type="application/json", headers=headers)

    def sse(self) -> bytes:
        """The error as a server-sent event, for failures after a stream has begun (the OpenAI clients raise it)."""
        return b"data: " + self.body() + b"\n\n"
