"""Reading a stored document chunk by chunk: the next chunk is asked for as soon as one
arrives, so its round trip overlaps the caller's work; a caller that stops early leaves no
request behind (``as2bus.contracts.documents.document_chunks``, through the services'
``DocumentStore``)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from as2bus.contracts import DocumentRef
from as2bus.shared.bus.documents import DocumentStore

CHUNKS = [b"first chunk ", b"second chunk ", b"third"]


@dataclass
class Info:
    nuid: str = "n1"
    chunks: int = len(CHUNKS)


@dataclass
class Message:
    data: bytes
    seq: int


class Stream:
    """The object's chunks at sequences 3, 5 and 7 (other objects' chunks in between)."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.cancelled = 0
        self._js = self  # the bucket's JetStream context, which reads its chunks

    async def get_info(self, name: str) -> Info:
        return Info()

    async def get_msg(self, stream: str, *, seq: int, **_: Any) -> Message:
        self.asked.append(seq)
        try:
            await asyncio.sleep(0.01)  # the round trip
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        index = next(i for i, at in enumerate((3, 5, 7)) if at >= seq)
        return Message(CHUNKS[index], (3, 5, 7)[index])


def ref_of() -> DocumentRef:
    whole = b"".join(CHUNKS)
    return DocumentRef(
        bucket="b", name="doc", size=len(whole), sha256=hashlib.sha256(whole).hexdigest()
    )


async def test_the_next_chunk_is_asked_for_before_the_caller_is_done_with_this_one() -> None:
    stream = Stream()
    store = DocumentStore(stream, stream)  # type: ignore[arg-type]
    got, asked_while_working = [], []
    async for chunk in store.chunks(ref_of()):
        await asyncio.sleep(0)  # the caller's work on the chunk begins
        asked_while_working.append(len(stream.asked))
        got.append(chunk)
    assert got == CHUNKS
    assert stream.asked == [1, 4, 6]  # each after the previous chunk's sequence
    assert asked_while_working == [2, 3, 3]  # the next one already on its way


async def test_a_caller_that_stops_early_leaves_no_request_behind() -> None:
    stream = Stream()
    store = DocumentStore(stream, stream)  # type: ignore[arg-type]
    reading = store.chunks(ref_of())
    assert await anext(reading) == CHUNKS[0]
    await asyncio.sleep(0)  # the next request goes out
    assert stream.asked == [1, 4]
    await reading.aclose()  # type: ignore[attr-defined]
    assert stream.cancelled == 1
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in others if "get_msg" in repr(t.get_coro())]
