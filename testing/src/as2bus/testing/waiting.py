"""Waiting for facts in tests, instead of sleeping for a guess.

``until`` (and ``until_sync``) polls a check until it holds and returns what it returned; on
timeout it fails naming what did not happen and the last value or error the check gave.
``nothing_within`` (and ``nothing_within_sync``) is the negative: something that must NOT
happen can only be watched for a while, so the window is bounded and stated by the caller.
``next_message`` subscribes before the action, so the message it causes cannot be missed.
``stream_messages``, ``stream_events`` and ``events_of`` read what a JetStream stream holds
(the events stream by default) and wait for events of some types.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeVar, overload

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from as2bus.contracts.subjects import EVENTS_STREAM

T = TypeVar("T")

#: How often a check is polled: short, so a fact is seen soon after it holds.
INTERVAL = 0.05
#: How much of a value or error a failure message shows.
_SHOWN = 500


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


class _Last:
    """What a check last gave: a value or an error (for the timeout message)."""

    def __init__(self) -> None:
        self.value: object = None
        self.error: Exception | None = None
        self.polls = 0

    def timed_out(self, what: str, timeout: float) -> AssertionError:
        seen = (
            f"last error: {type(self.error).__name__}: {_cut(str(self.error))}"
            if self.error is not None
            else f"last value: {_cut(repr(self.value))}"
        )
        return AssertionError(
            f"timed out after {timeout} s waiting for {what} ({self.polls} checks; {seen})"
        )


@overload
async def until(
    check: Callable[[], Awaitable[T]],
    *,
    what: str,
    timeout: float = 10.0,
    interval: float = INTERVAL,
) -> T: ...
@overload
async def until(
    check: Callable[[], T], *, what: str, timeout: float = 10.0, interval: float = INTERVAL
) -> T: ...
async def until(
    check: Callable[[], Any], *, what: str, timeout: float = 10.0, interval: float = INTERVAL
) -> Any:
    """Poll ``check`` (sync or async) until it returns a truthy value, and return that value.

    An exception from ``check`` counts as "not yet" (an ``assert`` inside it is a good way to
    say why); after ``timeout`` seconds this raises AssertionError naming ``what`` and the last
    value or error seen, the error chained as its cause.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = _Last()
    while True:
        last.polls += 1
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
        except Exception as err:
            last.error = err
        else:
            if value:
                return value
            last.value, last.error = value, None
        if loop.time() >= deadline:
            raise last.timed_out(what, timeout) from last.error
        await asyncio.sleep(interval)


def until_sync(
    check: Callable[[], T], *, what: str, timeout: float = 10.0, interval: float = INTERVAL
) -> T:
    """``until`` for tests that are not async: blocks the thread between checks."""
    deadline = time.monotonic() + timeout
    last = _Last()
    while True:
        last.polls += 1
        try:
            value = check()
        except Exception as err:
            last.error = err
        else:
            if value:
                return value
            last.value, last.error = value, None
        if time.monotonic() >= deadline:
            raise last.timed_out(what, timeout) from last.error
        time.sleep(interval)


def _happened(what: str, value: object, after: float, seconds: float) -> AssertionError:
    return AssertionError(
        f"{what}, {after:.2f} s into the {seconds} s watched: {_cut(repr(value))}"
    )


async def nothing_within(
    seconds: float, check: Callable[[], Any], *, what: str, interval: float = INTERVAL
) -> None:
    """Fail as soon as ``check`` (sync or async) returns a truthy value during ``seconds``.

    That something does not happen can only be watched for a while: choose ``seconds`` as the
    time the wrong thing would take to show, and say so where it is called. ``what`` names the
    wrong thing ("a third POST"). An exception from ``check`` is raised at once.
    """
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            raise _happened(what, value, loop.time() - began, seconds)
        if loop.time() - began >= seconds:
            return
        await asyncio.sleep(min(interval, max(0.0, began + seconds - loop.time())))


def nothing_within_sync(
    seconds: float, check: Callable[[], Any], *, what: str, interval: float = INTERVAL
) -> None:
    """``nothing_within`` for tests that are not async."""
    began = time.monotonic()
    while True:
        value = check()
        if value:
            raise _happened(what, value, time.monotonic() - began, seconds)
        if time.monotonic() - began >= seconds:
            return
        time.sleep(min(interval, max(0.0, began + seconds - time.monotonic())))


class NextMessage(Protocol):
    async def __call__(self, timeout: float = 10.0) -> Msg: ...


@contextlib.asynccontextmanager
async def next_message(
    nc: Client, subject: str, where: Callable[[Msg], bool] | None = None
) -> AsyncIterator[NextMessage]:
    """Subscribe to ``subject`` now; ``await got()`` returns the first message (that ``where``
    accepts) arriving from then on::

        async with next_message(nc, "as2.evt.cert.>") as got:
            await api.post(...)  # the action whose event we wait for
            msg = await got(timeout=10)

    The subscription is known to the server before the block runs (a flush), so the action's
    message cannot be missed; a core-NATS subscription sees a JetStream-stored event as every
    other subscriber does, at the same time.
    """
    loop = asyncio.get_running_loop()
    found: asyncio.Future[Msg] = loop.create_future()
    passed: list[str] = []

    async def on(msg: Msg) -> None:
        if found.done():
            return
        try:
            accepted = where is None or where(msg)
        except Exception as err:
            found.set_exception(err)
            return
        if accepted:
            found.set_result(msg)
        else:
            passed.append(f"{msg.subject}: {_cut(repr(msg.data))}")

    subscription = await nc.subscribe(subject, cb=on)
    await nc.flush()

    async def got(timeout: float = 10.0) -> Msg:
        try:
            return await asyncio.wait_for(asyncio.shield(found), timeout)
        except TimeoutError:
            which = "" if where is None else " of the kind waited for"
            raise AssertionError(
                f"no message{which} on {subject} within {timeout} s; "
                f"others seen: {' | '.join(passed) or 'none'}"
            ) from None

    try:
        yield got
    finally:
        with contextlib.suppress(nats.errors.ConnectionClosedError):
            await subscription.unsubscribe()
        if not found.done():
            found.cancel()


async def stream_messages(js: JetStreamContext, stream: str = EVENTS_STREAM) -> list[RawStreamMsg]:
    """Every message ``stream`` holds (headers and data), oldest first; none while it does not
    exist yet."""
    return await _StreamReader(js, stream).messages()


async def stream_events(js: JetStreamContext, stream: str = EVENTS_STREAM) -> list[dict[str, Any]]:
    """Every message ``stream`` holds, parsed as JSON (an event each, on the events stream),
    oldest first; none while it does not exist yet."""
    return await _StreamReader(js, stream).events()


class _StreamReader:
    """Reads a stream's messages, each once (a poll then asks only for the new ones)."""

    def __init__(self, js: JetStreamContext, stream: str) -> None:
        self.js, self.stream = js, stream
        self.read: dict[int, tuple[RawStreamMsg, dict[str, Any]]] = {}

    async def messages(self) -> list[RawStreamMsg]:
        return [msg for msg, _event in await self._read()]

    async def events(self) -> list[dict[str, Any]]:
        return [event for _msg, event in await self._read()]

    async def _read(self) -> list[tuple[RawStreamMsg, dict[str, Any]]]:
        try:
            state = (await self.js.stream_info(self.stream)).state
        except NotFoundError:
            return []
        for seq in range(max(state.first_seq, 1), state.last_seq + 1):
            if seq in self.read:
                continue
            try:
                msg = await self.js.get_msg(self.stream, seq)
            except NotFoundError:  # deleted: a gap in the sequence
                continue
            self.read[seq] = msg, json.loads(msg.data or b"null")
        return [self.read[seq] for seq in sorted(self.read) if seq >= state.first_seq]


async def events_of(
    js: JetStreamContext,
    *kinds: str,
    count: int = 1,
    timeout: float = 40.0,
    stream: str = EVENTS_STREAM,
) -> list[dict[str, Any]]:
    """The events of types ``kinds`` on ``stream``, once it holds at least ``count`` of them
    (``count=0``: those it holds now, maybe none).

    Fails after ``timeout`` seconds (generous: they come from services that are real processes,
    on a machine that may be busy) naming the types of every event the stream holds.
    """
    reader = _StreamReader(js, stream)

    async def enough() -> tuple[list[dict[str, Any]]]:
        stored = await reader.events()
        found = [e for e in stored if e.get("event_type") in kinds]
        if len(found) < count:
            held = [e.get("event_type") for e in stored]
            raise AssertionError(f"{len(found)} so far; the stream holds {held}")
        return (found,)  # truthy even when count is 0 and none are found

    what = f"{count} of {sorted(kinds)} on {stream}"
    found: tuple[list[dict[str, Any]]] = await until(
        enough, what=what, timeout=timeout, interval=0.1
    )
    return found[0]
