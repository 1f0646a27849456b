"""Building an AS2 message around a document that is never held in memory whole.

The classes live in ``message``, where ``build_message`` runs the same path on a document in
memory: see its docstring. This module is the import path outbound-svc uses:

    streamer = Streamer(size, sender=..., receiver=..., filename=..., ...)
    if streamer.single_pass:                           # nothing compressed or canonicalized
        plan = streamer.plan_ahead()                   # headers, Content-Length
    else:
        for chunk in document: streamer.digest(chunk)  # first reading
        plan = streamer.plan()                         # headers, Content-Length, MIC
    encoder = plan.encoder()                           # per attempt (a new content key)
    body = encoder.head() + encoder.update(chunk)... + encoder.finish()   # the reading sent
    plan.mic                                           # once an encoder finished

Every partnership streams, compression included. With one reading, a document that holds its
MIME boundary (``BoundaryInContentError``) is found while the body is sent: that attempt
fails, and the next one is built with new boundaries.

Several documents (RFC 6362): ``Streamer(size, ..., attachments=[AttachmentInfo(size, filename,
content_type), ...])``, then both readings give the documents one after the other (the first
``size`` bytes, then each attachment's), in chunks that need not end where a document does; they
go as the parts of a multipart/related. ``digest`` (or an encoder's ``update``) raises
ValueError when the documents run longer than their sizes, ``plan`` (or an encoder's
``finish``) when shorter.
"""

from __future__ import annotations

from as2bus.as2.message import Streamer, StreamPlan
from as2bus.as2.stages import BoundaryInContentError, Encoder, Frame

__all__ = ["BoundaryInContentError", "Encoder", "Frame", "StreamPlan", "Streamer"]
