"""The stages a message is built from, inside out: each one's bytes around what it is given.

``message`` chains them around the document(s): ``Frame`` (header fields, delimiters),
``Related`` (several documents as multipart/related parts, RFC 6362), ``Canonicalize``
(bare LFs as CRLF, a partner setting), ``Base64``,
``Compress`` (CompressedData), ``Sign`` (multipart/signed), ``Encrypt`` (EnvelopedData or
AuthEnvelopedData). A stage is ``start``ed once per reading of the document and gives a
``Run``; ``size`` gives what a content of ``inner`` bytes becomes. ``sized_ahead`` stages
know that before any reading; the others (compression, canonical line ends) only once the
document went through them, in a first reading. When every stage is sized ahead, one reading
is enough: ``Sign`` digests, signs and looks for its boundary in it, ``Related`` looks for
its own. With a first reading, ``measured`` stages run in it (so that the second one writes
what the first counted: one signature, whatever compresses it). ``Encoder`` pushes chunks
through the runs of one reading, a small piece at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from as2bus.as2 import cms, cms_write, mime
from as2bus.as2.algorithms import EncryptionAlg, KeyTransport, SignatureScheme, SigningAlg
from as2bus.as2.mic import micalg_name
from as2bus.as2.model import KeyPair

_CRLF = b"\r\n"
# What the stages take at a time. Each stage makes a new buffer per piece (base64 text,
# ciphertext); kept under glibc's 128 KiB mmap threshold (a 32 KiB piece is at most ~60 KiB
# after two base64 layers), they come from the heap and are reused. At 1 MiB every buffer was
# a fresh mapping, page-faulted in and zeroed: base64 builds ran at 70 MB/s, now about 150.
_PIECE = 32 * 1024

Fields = list[tuple[str, str]]


def smime_type(kind: str, name: str) -> str:
    return mime.with_params("application/pkcs7-mime", smime_type=kind, name=name)


def leaf_fields(content_type: str, base64: bool, filename: str | None) -> Fields:
    """The header fields of an entity: the document's own, or a CMS one (``smime.p7m``)."""
    fields = [("Content-Type", content_type)]
    fields.append(("Content-Transfer-Encoding", "base64" if base64 else "binary"))
    if filename:
        fields.append(("Content-Disposition", mime.with_params("attachment", filename=filename)))
    return fields


def smime_fields(kind: str, name: str, base64: bool) -> Fields:
    return leaf_fields(smime_type(kind, name), base64, name)


def signature_part(der: bytes) -> bytes:
    """The second part of a multipart/signed: the detached SignedData."""
    return mime.render(
        [
            ("Content-Type", mime.with_params("application/pkcs7-signature", name="smime.p7s")),
            ("Content-Transfer-Encoding", "base64"),
            ("Content-Disposition", mime.with_params("attachment", filename="smime.p7s")),
        ],
        mime.encode_base64(der),
    )


def signed_params(alg: SigningAlg) -> dict[str, str]:
    return {"protocol": "application/pkcs7-signature", "micalg": micalg_name(alg)}


def signed_multipart(
    entity: bytes,
    alg: SigningAlg,
    pair: KeyPair,
    scheme: SignatureScheme = SignatureScheme.PKCS1V15,
) -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart/signed over the exact bytes of ``entity`` (an MDN:
    small, in memory)."""
    signature = signature_part(cms.sign(entity, alg, pair, scheme))
    return mime.multipart("signed", [entity, signature], **signed_params(alg))


class Run(Protocol):
    """One stage during one reading of the document: what it writes before, for, and after."""

    def head(self) -> bytes: ...
    def update(self, data: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


class Stage(Protocol):
    #: Whether it runs in the first reading, when there is one (digested, or counted).
    measured: ClassVar[bool]
    #: Whether ``size`` is known before the document is read.
    sized_ahead: ClassVar[bool]

    def start(self) -> Run: ...
    def size(self, inner: int) -> int: ...


@dataclass(frozen=True)
class Frame:
    """``prefix`` + the content + ``suffix``: MIME header fields, multipart delimiters."""

    prefix: bytes
    suffix: bytes = b""
    measured: ClassVar[bool] = False
    sized_ahead: ClassVar[bool] = True

    def start(self) -> Frame:
        return self

    def size(self, inner: int) -> int:
        return len(self.prefix) + inner + len(self.suffix)

    def head(self) -> bytes:
        return self.prefix

    def update(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return self.suffix


class Base64Run(mime.Base64Lines):
    def head(self) -> bytes:
        return b""


class Base64:
    """Content-Transfer-Encoding: base64, in 76-character lines."""

    measured: ClassVar[bool] = False
    sized_ahead: ClassVar[bool] = True

    def start(self) -> Run:
        return Base64Run()

    def size(self, inner: int) -> int:
        return mime.Base64Lines.length(inner)


class Canonicalize:
    """Every bare LF of the document as CRLF (``mime.canonical``: a bare CR stays), for
    partners whose S/MIME stack verifies text in text mode. The first reading counts what it
    writes; a CR that ends a chunk waits for the next one, so a CRLF split over two chunks
    stays one."""

    measured: ClassVar[bool] = True
    sized_ahead: ClassVar[bool] = False  # how many bare LFs: counted in the first reading

    def __init__(self) -> None:
        self.length: int | None = None

    def start(self) -> Run:
        return CanonicalizeRun(self)

    def size(self, inner: int) -> int:
        assert self.length is not None, "sized before the first reading"
        return self.length


class CanonicalizeRun:
    def __init__(self, stage: Canonicalize) -> None:
        self._stage = stage
        self._held = b""  # a CR that ended the previous chunk
        self._count = 0

    def head(self) -> bytes:
        return b""

    def update(self, data: bytes) -> bytes:
        data = self._held + data
        self._held = b"\r" if data.endswith(b"\r") else b""
        out = mime.canonical(data[: len(data) - len(self._held)])
        self._count += len(out)
        return out

    def finish(self) -> bytes:
        out, self._held = self._held, b""
        self._count += len(out)
        if self._stage.length is None:
            self._stage.length = self._count
        return out


class Compress:
    """CompressedData. The first reading counts the zlib bytes; the second writes them again
    (and checks they came out the same)."""

    measured: ClassVar[bool] = True
    sized_ahead: ClassVar[bool] = False  # how well it compresses: counted in the first reading

    def __init__(self) -> None:
        self.deflated: int | None = None

    def start(self) -> Run:
        return CompressRun(self)

    def size(self, inner: int) -> int:
        assert self.deflated is not None, "sized before the first reading"
        return cms_write.Compressor.length(self.deflated)


class CompressRun:
    def __init__(self, stage: Compress) -> None:
        self._stage = stage
        self._compressor = cms_write.Compressor(expect=stage.deflated)

    def head(self) -> bytes:
        return self._compressor.head

    def update(self, data: bytes) -> bytes:
        return self._compressor.update(data)

    def finish(self) -> bytes:
        out = self._compressor.finish()
        if self._stage.deflated is None:
            self._stage.deflated = self._compressor.deflated
        return out


class BoundaryInContentError(ValueError):
    """The document contains the boundary chosen for it. Never seen: a boundary holds a
    uuid4's 122 random bits (``mime.new_boundary``), drawn after the document exists, so a
    document of n bytes holds it with a chance below n * 2**-122: for a terabyte 2**-82, and
    10**12 such messages together still below 10**-12. Checked all the same, in the reading
    that digests: with one reading, while the body is sent, so that attempt fails (the
    partner gets less than its Content-Length) and the next one is built with new ones."""


class Sign:
    """multipart/signed around the content. The first reading to get to the end digests it
    (making sure the boundary is not in it) and signs; later ones only frame it. Its size is
    known ahead (``cms_write.signed_data_length``): that reading may be the one sent."""

    measured: ClassVar[bool] = True
    sized_ahead: ClassVar[bool] = True

    def __init__(
        self, alg: SigningAlg, pair: KeyPair, scheme: SignatureScheme, boundary: str
    ) -> None:
        self.alg, self.pair, self.scheme = alg, pair, scheme
        self.marker = b"--" + boundary.encode()
        self.prefix = self.marker + _CRLF
        self.suffix: bytes | None = None
        self.digest: bytes | None = None
        der_length = cms_write.signed_data_length(alg, pair, scheme)
        self.suffix_length = len(self.closing(bytes(der_length)))

    def closing(self, der: bytes) -> bytes:
        """What follows the content: the signature part and the closing delimiter."""
        marker = self.marker
        return _CRLF + marker + _CRLF + signature_part(der) + _CRLF + marker + b"--\r\n"

    def start(self) -> Run:
        return SignRun(self) if self.suffix is None else Frame(self.prefix, self.suffix)

    def size(self, inner: int) -> int:
        return len(self.prefix) + inner + self.suffix_length


class SignRun:
    def __init__(self, stage: Sign) -> None:
        self._stage = stage
        self._hash = hashlib.new(stage.alg.value)
        self._keep = len(stage.marker) - 1
        self._tail = b""  # the end of the previous piece, to find a marker split across two

    def head(self) -> bytes:
        return self._stage.prefix

    def update(self, data: bytes) -> bytes:
        self._hash.update(data)
        marker = self._stage.marker
        if marker in data or marker in self._tail + data[: self._keep]:
            raise BoundaryInContentError("the document contains its MIME boundary")
        self._tail = (self._tail + data[-self._keep :])[-self._keep :]
        return data

    def finish(self) -> bytes:
        stage = self._stage
        digest = self._hash.digest()
        der = cms_write.sign_digest(digest, stage.alg, stage.pair, scheme=stage.scheme)
        suffix = stage.closing(der)
        if len(suffix) != stage.suffix_length:  # a Content-Length already sent would be wrong
            raise RuntimeError(
                f"the signature came out {len(suffix)} bytes, not the {stage.suffix_length} planned"
            )
        stage.digest, stage.suffix = digest, suffix
        return suffix


class Related:
    """multipart/related of the documents (RFC 6362), each a part in the partnership's
    transfer encoding: given them one after the other, it writes each part's delimiter and
    header fields where the previous document ends. The first reading makes sure no document
    holds the boundary (and that the documents have their announced sizes): with one
    reading, the first to get to the end."""

    measured: ClassVar[bool] = True
    sized_ahead: ClassVar[bool] = True

    def __init__(self, parts: Sequence[tuple[int, Fields]], b64: bool, boundary: str) -> None:
        self.sizes = [size for size, _ in parts]
        self.heads = [mime.render(fields, b"") for _, fields in parts]
        self.b64 = b64
        self.marker = b"--" + boundary.encode()
        self.checked = False  # a reading got to the end of every document, looking

    def start(self) -> Run:
        return RelatedRun(self, check=not self.checked, frame=True)

    def checker(self) -> Run:
        """The first reading's run when no measured stage is around it: checks, writes none."""
        return RelatedRun(self, check=True, frame=False)

    def size(self, inner: int) -> int:
        assert inner == sum(self.sizes)
        sizes = [mime.Base64Lines.length(n) for n in self.sizes] if self.b64 else self.sizes
        # CRLF --B CRLF before each part (the first without its CRLF), CRLF --B-- CRLF after
        delimiters = (len(self.marker) + 4) * len(sizes) - 2 + len(self.marker) + 6
        return delimiters + sum(map(len, self.heads)) + sum(sizes)


class RelatedRun:
    def __init__(self, stage: Related, *, check: bool, frame: bool) -> None:
        self._stage, self._check, self._frame = stage, check, frame
        self._keep = len(stage.marker) - 1
        self._index = 0
        self._left = stage.sizes[0]
        self._tail = b""  # the end of this document's previous piece, as in SignRun
        self._base64 = mime.Base64Lines() if stage.b64 else None

    def head(self) -> bytes:
        return self._opening() if self._frame else b""

    def _opening(self) -> bytes:
        return self._stage.marker + _CRLF + self._stage.heads[self._index]

    def update(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            if not self._left:
                out.append(self._next())
                continue
            piece, data = data[: self._left], data[self._left :]
            self._left -= len(piece)
            if self._check:
                self._look_for_marker(piece)
            if self._frame:
                out.append(self._base64.update(piece) if self._base64 else piece)
        return b"".join(out)

    def _look_for_marker(self, piece: bytes) -> None:
        marker, keep = self._stage.marker, self._keep
        if marker in piece or marker in self._tail + piece[:keep]:
            raise BoundaryInContentError(f"document {self._index + 1} contains its MIME boundary")
        self._tail = (self._tail + piece[-keep:])[-keep:]

    def _closing(self) -> bytes:
        if self._left:
            raise ValueError(
                f"document {self._index + 1} ended {self._left} bytes short of its size"
            )
        if not self._frame:
            return b""
        return (self._base64.finish() if self._base64 else b"") + _CRLF

    def _next(self) -> bytes:
        """The end of this part and the start of the next."""
        if self._index + 1 == len(self._stage.sizes):
            raise ValueError("the documents are longer than their sizes")
        out = self._closing()
        self._index += 1
        self._left, self._tail = self._stage.sizes[self._index], b""
        self._base64 = mime.Base64Lines() if self._stage.b64 else None
        return out + self._opening() if self._frame else out

    def finish(self) -> bytes:
        out = [self._next() for _ in range(self._index + 1, len(self._stage.sizes))]
        out.append(self._closing())
        if self._check:
            self._stage.checked = True
        if self._frame:
            out.append(self._stage.marker + b"--" + _CRLF)
        return b"".join(out)


class Encrypt:
    """EnvelopedData / AuthEnvelopedData: a new content key for every ``start``."""

    measured: ClassVar[bool] = False
    sized_ahead: ClassVar[bool] = True

    def __init__(self, alg: EncryptionAlg, cert_pem: bytes, transport: KeyTransport) -> None:
        self.alg, self.cert_pem, self.transport = alg, cert_pem, transport
        self.inner: int | None = None
        self._unused: list[cms_write.Encryptor] = []  # the one made to size, for a first start

    def _encryptor(self) -> cms_write.Encryptor:
        assert self.inner is not None, "started before it was sized"
        return cms_write.Encryptor(self.alg, self.cert_pem, self.inner, self.transport)

    def start(self) -> Run:
        try:
            encryptor = self._unused.pop()  # atomic: no two attempts get the same key
        except IndexError:
            encryptor = self._encryptor()
        return EncryptRun(encryptor)

    def size(self, inner: int) -> int:
        self.inner = inner
        encryptor = self._encryptor()
        self._unused = [encryptor]
        return encryptor.length  # the same for every key


class EncryptRun:
    def __init__(self, encryptor: cms_write.Encryptor) -> None:
        self._encryptor = encryptor

    def head(self) -> bytes:
        return self._encryptor.head

    def update(self, data: bytes) -> bytes:
        return self._encryptor.update(data)

    def finish(self) -> bytes:
        return self._encryptor.finish()


class Encoder:
    """The document through ``runs`` (inside out): ``head()``, then ``update`` per document
    chunk, then ``finish()``; each returns the next bytes of the body."""

    def __init__(self, runs: Sequence[Run]) -> None:
        self._runs = list(runs)

    def head(self) -> bytes:
        # The outer stages write first; an inner stage's head goes through them.
        count = len(self._runs)
        return b"".join(self._push(i + 1, self._runs[i].head()) for i in reversed(range(count)))

    def update(self, chunk: bytes) -> bytes:
        return b"".join(self.pieces(chunk))

    def pieces(self, chunk: bytes) -> Iterator[bytes]:
        """``update``'s bytes in pieces, without joining them into one big buffer (what a
        caller that writes or hashes them as they come should use for a large chunk)."""
        if len(chunk) <= _PIECE:
            yield self._push(0, chunk)
            return
        for i in range(0, len(chunk), _PIECE):
            yield self._push(0, chunk[i : i + _PIECE])

    def finish(self) -> bytes:
        # The inner stages end first; what they write last goes through the outer ones.
        return b"".join(self._push(i + 1, run.finish()) for i, run in enumerate(self._runs))

    def _push(self, start: int, data: bytes) -> bytes:
        for run in self._runs[start:]:
            if not data:
                break
            data = run.update(data)
        return data
