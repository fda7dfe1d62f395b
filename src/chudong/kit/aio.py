"""Run a coroutine to completion from synchronous code, whatever the calling thread is doing.

``asyncio.run`` refuses to start when the thread already runs an event loop (an ASGI
worker thread, Playwright's sync API in tests); the coroutine then runs on a fresh loop in a
short-lived thread instead.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Return the coroutine's result, running it on its own event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=target, name="chudong-aio")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
