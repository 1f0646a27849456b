"""Hypothesis strategies for the fuzzer: recipes of messages and MDNs (``grammar``), each a
valid shape and up to three mutations of its layers, and how the HTTP layer delivers them.

Every draw is a small choice (a shape from a list, an operator, positions as fractions), so
a case costs little to draw and shrinks to a short recipe; the bytes are built from it.
"""

from __future__ import annotations

from hypothesis import strategies as st

from as2bus.as2.algorithms import EncryptionAlg, KeyTransport, SignatureScheme, SigningAlg

from ..unit.receiving import PARTNER, STATION
from .grammar import (
    BYTE_OPS,
    DER_OPS,
    HTTP_OPS,
    LAX,
    MIME_OPS,
    Layer,
    Mdn,
    MdnAsk,
    MdnShape,
    Message,
    Mutation,
    Shape,
    Where,
)
from .harness import FRAMINGS, HttpCase, MessageCase, WireCase
from .oracle import Transport

SIGN = Layer("sign")
OPAQUE = Layer("opaque", base64=True)
COMPRESS = Layer("compress")
ENCRYPT = Layer("encrypt", key="myco")
ENCRYPT_B64 = Layer("encrypt", key="myco", base64=True)

#: Layer stacks, inside out: what partners send ACME's way, then what a stranger sends.
VALID_STACKS: tuple[tuple[Layer, ...], ...] = (
    (SIGN, ENCRYPT),
    (SIGN, ENCRYPT_B64),
    (COMPRESS, SIGN, ENCRYPT),
    (SIGN, COMPRESS, ENCRYPT),
    (OPAQUE, ENCRYPT),
    (Layer("compress", base64=True), OPAQUE, ENCRYPT_B64),
    (SIGN, Layer("encrypt", key="myco", encryption=EncryptionAlg.AES128_GCM)),
    (
        Layer("sign", signing=SigningAlg.SHA384, scheme=SignatureScheme.PSS),
        Layer(
            "encrypt",
            key="myco",
            encryption=EncryptionAlg.TRIPLE_DES,
            transport=KeyTransport.RSA_OAEP_SHA256,
        ),
    ),
    (Layer("sign", signing=SigningAlg.SHA1), Layer("encrypt", key="myco", base64=True)),
)
LAX_STACKS: tuple[tuple[Layer, ...], ...] = (
    (),
    (SIGN,),
    (COMPRESS,),
    (ENCRYPT,),
    (COMPRESS, ENCRYPT),
    (Layer("compress", base64=True),),
)
WRONG_STACKS: tuple[tuple[Layer, ...], ...] = (
    (Layer("sign", key="mallory"), ENCRYPT),
    (SIGN, Layer("encrypt", key="mallory")),
    (SIGN, SIGN, ENCRYPT),
    (SIGN, ENCRYPT, ENCRYPT),
    (COMPRESS, COMPRESS, SIGN, ENCRYPT),
    (SIGN,),
    (ENCRYPT,),
    (COMPRESS, ENCRYPT),
    (),
)

CONTENT_TYPES = ("application/edi-x12", "application/octet-stream", "text/plain; charset=utf-8")
DOCUMENT_SETS = ((0,), (1,), (2,), (3,), (4,), (5,), (0, 1), (0, 4, 3))

MDN_ASKS: tuple[MdnAsk, ...] = ("sync-signed", "sync", "none", "async-signed", "sync-md5-required")


def _all_shapes() -> list[Shape]:
    acme = [
        Shape(PARTNER, documents, content_type, b64, stack, mdn)
        for stack in VALID_STACKS
        for documents in DOCUMENT_SETS
        for content_type in CONTENT_TYPES
        for b64 in (False, True)
        for mdn in MDN_ASKS
        # a receipt we cannot give is refused before anything is read: now and then
        if mdn != "sync-md5-required" or documents == (0,)
    ]
    lax = [
        Shape(LAX, documents, "application/octet-stream", b64, stack, mdn)
        for stack in LAX_STACKS
        for documents in DOCUMENT_SETS
        for b64 in (False, True)
        for mdn in ("sync-signed", "none", "async-signed")
    ]
    wrong = [
        Shape(layers=stack, mdn=mdn, base64=b64)
        for stack in WRONG_STACKS
        for mdn in ("sync-signed", "sync", "async-signed")
        for b64 in (False, True)
    ]
    return acme + lax * 3 + wrong * 6


#: Every shape, drawn in one choice: ACME's valid ones, LAX's, and the wrong ones (the last
#: two repeated so that they come up about a third of the time).
shapes = st.sampled_from(_all_shapes())
_OPS_BY_WHERE = {
    "der": (*DER_OPS, "bomb", "bomb", *BYTE_OPS[:3]),
    "content": (*BYTE_OPS, "base64-junk", "base64-cut"),
    "body": (*BYTE_OPS, "base64-junk", "base64-cut"),
    "entity": (*MIME_OPS, *BYTE_OPS),
}


def mutation_from(number: int, layers: int, *, mdn: bool = False) -> Mutation:
    """The mutation a number stands for (of a message with ``layers`` layers, or of an
    MDN): its layer, place and operator, then four 16-bit arguments. One draw per mutation
    keeps Hypothesis's share of a case small; 0 is the simplest mutation."""
    top = 4 if mdn else layers + 1
    number, layer = divmod(number, top + 1)
    if layer == top:
        places: tuple[Where, ...] = ("body", "entity")
    elif layer == 0 or (mdn and layer < 3):
        places = ("entity",)
    else:
        places = ("entity", "der", "der", "content")
    number, place = divmod(number, len(places))
    ops = _OPS_BY_WHERE[places[place]]
    number, op = divmod(number, len(ops))
    args = tuple((number >> shift) & 0xFFFF for shift in (0, 16, 32, 48))
    return Mutation(layer, places[place], ops[op], args)


#: One mutation's number: enough bits for the layer, place and operator, and four 16-bit
#: arguments.
NUMBERS = st.integers(0, (1 << 80) - 1)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    shape = draw(shapes)
    numbers = draw(st.lists(NUMBERS, max_size=3))
    return Message(shape, tuple(mutation_from(n, len(shape.layers)) for n in numbers))


#: Bomb recipes: the zlib of 1 GiB of zeros, as the CompressedData a layer holds, under a
#: valid signature or not, inside a valid encryption; with any documents and MDN request
#: (so that a big run does not run out of distinct ones).
bombs = st.builds(
    lambda framing, stack, b64, documents, mdn: Message(
        Shape(documents=documents, base64=b64, layers=stack, mdn=mdn),
        (Mutation(1 if stack[0].kind == "compress" else 2, "der", "bomb", (framing,)),),
    ),
    st.integers(0, 2),
    st.sampled_from(
        [
            (COMPRESS, SIGN, ENCRYPT),  # the bomb signed by ACME
            (SIGN, COMPRESS, ENCRYPT),  # the bomb outside the signature: read before it
            (SIGN, Layer("compress", base64=True), ENCRYPT_B64),
        ]
    ),
    st.booleans(),
    st.sampled_from(DOCUMENT_SETS),
    st.sampled_from(MDN_ASKS),
)

header_ops = st.lists(
    st.tuples(st.sampled_from(HTTP_OPS), st.tuples(st.integers(0, 63), st.integers(0, 63))),
    max_size=3,
)

DISPOSITIONS = (
    "automatic-action/MDN-sent-automatically; processed",
    "automatic-action/MDN-sent-automatically; processed/error: decryption-failed",
    "automatic-action/MDN-sent-automatically; processed/warning: duplicate-document",
    "automatic-action/MDN-sent-automatically; failed/Failure: unsupported MIC-algorithms",
    "",
    ";;;",
    "processed/" + "e" * 5000,
)
MICS = ("q5DsUkr8/8Vqx2M9zt3Zy4m0nWQ2n3W9eHK2ZfW9xXY=, sha256", None, "abc, md5", ",,,")


def _all_mdn_shapes() -> list[MdnShape]:
    """ACME's MDNs (signed, opaque, unsigned, by Mallory) with every disposition and MIC,
    then ones from or to whom they should not be."""
    ours = [
        MdnShape(signer, opaque, disposition, mic, b64)
        for signer in ("acme", "acme", "acme", None, "mallory")
        for opaque in (False, True)
        for disposition in DISPOSITIONS
        for mic in MICS
        for b64 in (False, True)
    ]
    strangers = [
        MdnShape(sender=sender, to=to)
        for sender, to in (("EVIL", STATION), (LAX, STATION), ("ACME", "NOBODY"))
    ]
    return ours + strangers * 20


mdn_shapes = st.sampled_from(_all_mdn_shapes())


@st.composite
def mdns(draw: st.DrawFn) -> Mdn:
    shape = draw(mdn_shapes)
    numbers = draw(st.lists(NUMBERS, max_size=3))
    return Mdn(shape, tuple(mutation_from(n, 0, mdn=True) for n in numbers))


transports = st.builds(
    Transport,
    # A piece of one byte now and then, not all along (a body of 1-byte pieces costs an
    # await per byte: it tests nothing more than a few of them do).
    chunks=st.sampled_from(
        [(65536,), (1, 2, 3, 5, 8, 4096), (7, 4096), (1000,), (3, 65536, 17), (16384,)]
    ),
    length=st.sampled_from(
        ["right", "right", "right", "none", "less", "more", "garbage", "huge", "negative", "twice"]
    ),
    disconnect_after=st.sampled_from([None, None, None, None, None, 0, 1, 2]),
    stall_after=st.sampled_from([None] * 30 + [1]),
    empty_chunks=st.booleans(),
)


#: The HTTP level: a message or an MDN, its request's header fields changed, delivered in
#: pieces, with a Content-Length right or not.
http_cases = st.builds(
    HttpCase,
    what=st.one_of(messages(), mdns()),
    header_ops=header_ops.map(tuple),
    transport=transports,
)

#: The wire: the request as bytes to uvicorn, framed right or wrong.
wire_cases = st.builds(
    WireCase,
    what=st.one_of(messages(), mdns()),
    framing=st.sampled_from(FRAMINGS),
    args=st.tuples(st.integers(0, 65535), st.integers(0, 63)),
)

#: The use case's cases: a message, maybe its header fields changed, from memory or a file,
#: now and then after the same message unbroken.
message_cases = st.builds(
    MessageCase,
    message=messages(),
    # now and then: most header changes refuse a message before its body is read
    header_ops=st.one_of(st.just(()), st.just(()), st.just(()), header_ops.map(tuple)),
    spooled=st.booleans(),
    replay=st.sampled_from([False] * 9 + [True]),
)

#: The use case's MDN cases: an MDN, maybe its header fields changed.
mdn_cases = st.tuples(mdns(), st.one_of(st.just(()), header_ops.map(tuple)))
