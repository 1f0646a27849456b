"""Building an AS2 message around a document that is never held in memory whole.

The classes live in ``message``, where ``build_message`` runs the same path on a document in
memory: see its docstring. This module is the import path outbound-svc uses:

    streamer = Streamer(size, sender=..., receiver=..., filename=..., ...)
    for chunk in document: streamer.digest(chunk)      # first reading
    plan = streamer.plan()                             # headers, Content-Length, MIC
    encoder = plan.encoder()                           # per attempt (a new content key)
    body = encoder.head() + encoder.update(chunk)... + encoder.finish()   # second reading

Every partnership streams, compression included.

Several documents (RFC 6362): ``Streamer(size, ..., attachments=[AttachmentInfo(size, filename,
content_type), ...])``, then both readings give the documents one after the other (the first
``size`` bytes, then each attachment's), in chunks that need not end where a document does; they
go as the parts of a multipart/related. ``digest`` raises ValueError when the documents run
longer than their sizes, ``plan`` (or an encoder's ``finish``) when shorter.
"""

from __future__ import annotations

from as2bus.as2.message import Streamer, StreamPlan
from as2bus.as2.stages import BoundaryInContentError, Encoder, Frame

__all__ = ["BoundaryInContentError", "Encoder", "Frame", "StreamPlan", "Streamer"]
