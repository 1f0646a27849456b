"""A private key and its certificate chain into an SSLContext, from memory.

Python's ``ssl`` loads a key only from a path (``load_cert_chain``). Writing our key to a
temporary file would leave it on a disk, so it goes into an anonymous in-memory file
(``memfd_create``, Linux only, as our images are), OpenSSL reads it through
``/proc/self/fd/N``, and the file is closed, and gone, right after. outbound-svc presents its
TLS client certificate this way; inbound-svc serves its endpoint's certificate from cert-svc
this way.
"""

from __future__ import annotations

import os
import ssl


def load_key_and_chain(context: ssl.SSLContext, key_pem: bytes, chain_pem: bytes) -> None:
    """Load ``key_pem`` (unencrypted PEM) and ``chain_pem`` (the certificate first, then any
    intermediates) into ``context``. Raises ``ssl.SSLError`` when OpenSSL refuses them (a key
    that does not belong to the certificate, say); the caller words it, without the key."""
    fd = os.memfd_create("as2bus-tls-key", os.MFD_CLOEXEC)
    try:
        with os.fdopen(os.dup(fd), "wb") as file:
            file.write(key_pem.rstrip(b"\n") + b"\n" + chain_pem)
        context.load_cert_chain(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)
