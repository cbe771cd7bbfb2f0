from __future__ import annotations

from celery import Celery

from jobs.inspection import queue_state


def test_a_broker_that_does_not_answer_gives_a_message_not_a_hang() -> None:
    down = Celery("down", broker="redis://127.0.0.1:9/0")

    state = queue_state(app=down, timeout=0.5)

    assert state.workers is None and state.queue_depth is None
    assert "broker" in state.error.lower()


def test_the_running_broker_reports_the_queue_depth() -> None:
    state = queue_state(timeout=2.0)

    assert state.error == "" and state.queue_depth is not None and state.queue_depth >= 0
    assert state.workers is not None
