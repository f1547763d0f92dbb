"""The app's admission gate: at most N requests inside at once, the rest served in arrival order,
and a client that leaves while waiting neither keeps nor loses a slot."""

from __future__ import annotations

import asyncio
from typing import Any

from quotegraph.serve.app import Admission


def _scope(n: int) -> dict[str, Any]:
    return {"type": "http", "path": f"/{n}"}


async def _noop_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


async def _noop_send(message: dict[str, Any]) -> None:
    return None


def test_waiting_requests_enter_in_arrival_order_and_never_more_than_the_limit() -> None:
    inside, most, order = 0, 0, []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        order.append(int(scope["path"][1:]))
        await asyncio.sleep(0.01 if int(scope["path"][1:]) % 3 else 0.03)  # uneven work
        inside -= 1

    async def main() -> None:
        gate = Admission(app, limit=2)
        tasks = []
        for n in range(12):
            tasks.append(asyncio.create_task(gate(_scope(n), _noop_receive, _noop_send)))
            await asyncio.sleep(0)  # arrive one after another
        await asyncio.gather(*tasks)
        assert gate.free == 2 and not gate.waiting

    asyncio.run(main())
    assert most == 2
    assert order == list(range(12))


def test_a_client_that_leaves_while_waiting_does_not_leak_a_slot() -> None:
    entered: list[int] = []

    async def main() -> None:
        done = asyncio.Event()

        async def app(scope: Any, receive: Any, send: Any) -> None:
            entered.append(int(scope["path"][1:]))
            if scope["path"] == "/0":
                await done.wait()

        gate = Admission(app, limit=1)
        first = asyncio.create_task(gate(_scope(0), _noop_receive, _noop_send))
        await asyncio.sleep(0)
        gone = asyncio.create_task(gate(_scope(1), _noop_receive, _noop_send))
        later = asyncio.create_task(gate(_scope(2), _noop_receive, _noop_send))
        await asyncio.sleep(0)
        gone.cancel()  # the client disconnects while waiting
        await asyncio.sleep(0)
        done.set()
        await asyncio.gather(first, later)
        assert gone.cancelled()
        assert gate.free == 1 and not gate.waiting

    asyncio.run(main())
    assert entered == [0, 2]
