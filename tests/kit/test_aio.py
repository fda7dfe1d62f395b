import asyncio

import pytest

from chudong.kit.aio import run_sync


async def _double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


async def _boom() -> None:
    raise ValueError("boom")


def test_run_sync_without_a_loop():
    assert run_sync(_double(21)) == 42


def test_run_sync_inside_a_running_loop():
    async def outer() -> int:
        return run_sync(_double(4))  # asyncio.run would refuse here

    assert run_sync(outer()) == 8  # (asyncio.run here would fail if the test thread runs a loop)


def test_run_sync_reraises_in_caller():
    async def outer() -> None:
        run_sync(_boom())

    with pytest.raises(ValueError, match="boom"):
        run_sync(outer())
