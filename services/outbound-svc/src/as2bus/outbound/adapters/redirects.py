"""A partner's redirect: followed or refused, and why.

By default a redirect is never followed: the message is signed for, and its MDN asked by, the
partner at its configured URL, and an HTTP client following a 301/302 with a POST may turn it
into a GET. A partner whose TLS settings allow following (``follow_redirects``) is followed on
307 and 308 only (they keep the method and the body), at most ``MAX_REDIRECTS`` times, and
never from https to http (the message would travel in clear).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx

from as2bus.contracts import PartnerState
from as2bus.shared.partner_tls.errors import safe_url

MAX_REDIRECTS = 3
FOLLOWED = (307, 308)


def same_origin(a: str, b: str) -> bool:
    one, two = httpx.URL(a), httpx.URL(b)
    return (one.scheme, one.host, one.port) == (two.scheme, two.host, two.port)


def next_hop(
    partner: PartnerState, url: str, response: httpx.Response, hops: int
) -> tuple[str | None, str]:
    """(the URL to post to next, "") when the redirect is followed, else (None, the reason
    the message fails with). ``hops``: redirects followed so far."""
    status = response.status_code
    location = response.headers.get("location")
    target = urljoin(url, location) if location else None
    if not partner.tls.follow_redirects or status not in FOLLOWED or target is None:
        return None, refused(partner, url, response)
    if hops >= MAX_REDIRECTS:
        return None, (
            f"HTTP {status} from {safe_url(url)}: a redirect to {safe_url(target)}, not followed "
            f"(already {MAX_REDIRECTS} redirects); correct the partner's URL"
        )
    if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
        return None, (
            f"HTTP {status} from {safe_url(url)}: a redirect to {safe_url(target)}, not followed "
            "(from https to plain http the message would travel unprotected); correct the "
            "partner's URL"
        )
    return target, ""


def refused(partner: PartnerState, url: str, response: httpx.Response) -> str:
    location = response.headers.get("location")
    to = "a redirect"
    if location:
        to += f" to {safe_url(urljoin(url, location))}"
    only = ""
    if partner.tls.follow_redirects:
        only = "; only 307 and 308 are followed: they keep the POST and its body"
    return (
        f"HTTP {response.status_code} from {safe_url(url)}: {to}, not followed (a signed "
        f"message is posted only to the partner's URL as configured{only}); correct the "
        "partner's URL if it has moved"
    )
