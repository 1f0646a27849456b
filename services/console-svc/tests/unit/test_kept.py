"""Reading the head of a kept MDN: the first chunk only, nothing when the object is gone."""

from __future__ import annotations

from as2bus.console.adapters.kept import http_head
from as2bus.contracts import DOCUMENTS_BUCKET, DocumentRef

from .conftest import FakeDocuments

MDN = (b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"\r\n"
       b"AS2-From: ACME\r\n\r\n" + b"x" * 1000)  # fmt: skip


async def test_the_head_is_read_from_the_first_chunk_only() -> None:
    store = FakeDocuments(chunk_size=128)
    ref = store.keep("mdn/1", MDN)
    head = await http_head(store, ref)
    assert (
        head
        == 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"\nAS2-From: ACME'
    )
    assert store.chunks_read == 1
    assert store.open_reads == 0  # closed at once, not left to the garbage collector


async def test_a_gone_mdn_has_no_head() -> None:
    gone = DocumentRef(bucket=DOCUMENTS_BUCKET, name="mdn/gone", size=1, sha256="0" * 64)
    assert await http_head(FakeDocuments(), gone) is None
