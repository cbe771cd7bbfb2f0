"""supervisord event listener for `make run`: each process's output on the terminal with its name in front, and one
plain line whenever a process dies, is restarted or is given up on.

supervisord talks to a listener over its stdin and stdout, so everything meant for the terminal goes to stderr,
which the generated configuration sends to supervisord's own stdout.
"""

from __future__ import annotations

import sys

from supervisor import childutils

WIDTH = 8


def _say(message: str) -> None:
    sys.stderr.write(f"==> {message}\n")
    sys.stderr.flush()


def _state_line(event: str, headers: dict[str, str]) -> str | None:
    name, pid = headers.get("processname", "?"), headers.get("pid", "")
    if event == "PROCESS_STATE_EXITED" and headers.get("expected") == "0":
        return f"{name} (pid {pid}) stopped unexpectedly; the supervisor restarts it"
    if event == "PROCESS_STATE_BACKOFF":
        return f"{name} exited while starting; retrying with a longer wait each time (see var/log/{name}.log)"
    if event == "PROCESS_STATE_RUNNING" and headers.get("from_state") == "STARTING":
        return f"{name} is running (pid {pid})"
    if event == "PROCESS_STATE_FATAL":
        return f"{name} could not be started after repeated tries; see var/log/{name}.log and restart make run"
    return None


def main() -> None:
    partial: dict[str, str] = {}
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        event = headers["eventname"]
        if event.startswith("PROCESS_LOG"):
            info, data = childutils.eventdata(payload + "\n")
            name = info["processname"]
            lines = (partial.pop(name, "") + data[:-1]).split("\n")
            partial[name] = lines.pop()  # an unfinished line waits for the rest of it
            for line in lines:
                sys.stderr.write(f"{name:<{WIDTH}} | {line}\n")
            sys.stderr.flush()
        elif event.startswith("PROCESS_STATE"):
            info, _ = childutils.eventdata(payload + "\n")
            if info.get("processname") != "events":
                line = _state_line(event, info)
                if line:
                    _say(line)
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
