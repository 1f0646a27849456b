"""Speaking TLS with one trading partner as its TLS settings (``PartnerTls``) demand, for every
service that makes requests to partners: outbound-svc posting messages, inbound-svc posting
asynchronous MDNs.

    identity   ClientIdentity: our key and certificate of the partnership, when presented
    context    the SSLContext from the partner's settings (trust, lowest version, our cert)
    pinning    the pin check between the handshake and the first byte of a request
    clients    an httpx client per partner TLS profile, kept while the profile holds
    errors     a failure to connect in words, and whether another attempt can help
"""
