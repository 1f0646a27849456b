"""The options of ``as2bus partner create|update`` and how they become an API request body."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from as2bus.as2.algorithms import Compression, KeyTransport, SignatureScheme, TransferEncoding
from as2bus.cli.client import CliError


class MdnMode(StrEnum):
    SYNC = "sync"
    ASYNC = "async"
    NONE = "none"


class MdnSignature(StrEnum):
    REQUIRED = "required"
    PREFERRED = "preferred"
    NONE = "none"


class AuthType(StrEnum):
    NONE = "none"
    BASIC = "basic"
    TOKEN = "token"


class Placement(StrEnum):
    HEADER = "header"
    QUERY = "query"
    BODY = "body"


AUTH_PANEL = "HTTP authentication at the partner"
Ref = Annotated[str, typer.Argument(help="The partner's AS2 ID or its id (UUID).")]
As2Id = Annotated[str, typer.Option("--as2-id", help="The partner's AS2 ID.")]
Name = Annotated[str, typer.Option("--name", help="A display name.")]
Url = Annotated[str, typer.Option("--url", help="The partner's AS2 endpoint (http/https).")]
NewAs2Id = Annotated[str | None, typer.Option("--as2-id", help="A new AS2 ID.")]
NewName = Annotated[str | None, typer.Option("--name", help="A new display name.")]
NewUrl = Annotated[str | None, typer.Option("--url", help="A new AS2 endpoint URL.")]
Alias = Annotated[
    str | None,
    typer.Option(
        help="Alias of the partner's certificate. Default: the AS2 ID in lower case (ACMERETAIL: "
        "acmeretail), any character but letters, digits and . _ @ - made _."
    ),
]
Email = Annotated[str | None, typer.Option(help="The partner's contact e-mail.")]
Subject = Annotated[
    str | None,
    typer.Option(
        "--subject",
        help="The Subject of messages to this partner whose send names none (as OpenAS2's "
        'partnership subject). Default: AS2 Message; on update, "" goes back to it.',
    ),
]
AsyncMdnNetwork = Annotated[
    list[str] | None,
    typer.Option(
        "--async-mdn-network",
        help="A network (CIDR, e.g. 10.20.0.0/16) the async MDNs this partner's messages ask "
        "for may be posted to although it is not public (its on-premises MDN server), besides "
        "AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS; repeat for several (replaces the stored "
        "ones).",
    ),
]
NoAsyncMdnNetworks = Annotated[
    bool,
    typer.Option("--no-async-mdn-networks", help="Remove every async MDN network (update)."),
]
Mdn = Annotated[MdnMode | None, typer.Option(help="How the partner returns MDNs (receipts).")]
AsyncMdnUrl = Annotated[
    str | None, typer.Option(help="Where the partner posts async MDNs (required for --mdn async).")
]
MdnSignatureOpt = Annotated[
    MdnSignature | None,
    typer.Option(
        "--mdn-signature",
        help="The partner's MDN signature: required (an unsigned MDN fails the message), "
        "preferred (asked as optional; an unsigned MDN is delivery with a warning), or none "
        "(ask for an unsigned MDN). New partners: required.",
    ),
]
MdnSigned = Annotated[
    bool | None,
    typer.Option(
        "--mdn-signed/--mdn-unsigned",
        hidden=True,
        help="Older form of --mdn-signature (required / none).",
    ),
]
MdnSigningAlg = Annotated[
    str | None, typer.Option(help="Algorithm asked for MDN signatures (sha256, ... or none).")
]
Encryption = Annotated[
    str | None,
    typer.Option(
        help="Encryption: none, 3des, aes128-cbc, aes192-cbc, aes256-cbc, aes128-gcm, aes256-gcm."
    ),
]
SignatureSchemeOpt = Annotated[
    SignatureScheme | None,
    typer.Option(
        "--signature-scheme", help="How we sign: rsa-pkcs1v15, or rsassa-pss if the partner asks."
    ),
]
KeyTransportOpt = Annotated[
    KeyTransport | None,
    typer.Option(
        "--key-transport",
        help="How the message key is wrapped: rsa-pkcs1v15, or rsa-oaep-sha256 if asked.",
    ),
]
AcceptExpiredMdnCert = Annotated[
    bool | None,
    typer.Option(
        "--accept-expired-mdn-cert/--refuse-expired-mdn-cert",
        help="Whether an MDN signed with a partner certificate past its expiry is accepted.",
    ),
]
CanonicalizeLineEndings = Annotated[
    bool | None,
    typer.Option(
        "--canonicalize-line-endings/--keep-line-endings",
        help="Whether every bare LF of the document becomes CRLF before signing (for partners "
        "that verify text in text mode).",
    ),
]

ReplayProtection = Annotated[
    bool | None,
    typer.Option(
        "--replay-protection/--no-replay-protection",
        help="Whether a signed message is delivered once per signature, not once per "
        "Message-ID: a replay of one accepted before is answered as a duplicate, a signing "
        "time outside the replay window refused (default for new partners: on).",
    ),
]


class As2Version(StrEnum):
    V1_0 = "1.0"
    V1_1 = "1.1"
    V1_2 = "1.2"


As2VersionOpt = Annotated[
    As2Version | None,
    typer.Option(
        "--as2-version", help="The AS2-Version we send: 1.2, or 1.1 / 1.0 if the partner asks."
    ),
]
Signing = Annotated[
    str | None, typer.Option(help="Signing: none, sha1, sha224, sha256, sha384, sha512.")
]
CompressionOpt = Annotated[
    Compression | None, typer.Option("--compression", help="Whether and when to compress.")
]
Encoding = Annotated[
    TransferEncoding | None,
    typer.Option("--encoding", help="Content-Transfer-Encoding of what we send."),
]
RateLimit = Annotated[
    float | None,
    typer.Option(help="At most this many messages per second to the partner; 0 = no limit."),
]
MaxConcurrency = Annotated[
    int | None, typer.Option(help="At most this many messages in flight to the partner.")
]
Disabled = Annotated[bool, typer.Option("--disabled", help="Create it disabled.")]
Auth = Annotated[
    AuthType | None,
    typer.Option("--auth", help="How we authenticate to the partner.", rich_help_panel=AUTH_PANEL),
]
Username = Annotated[
    str | None, typer.Option(help="User name (--auth basic).", rich_help_panel=AUTH_PANEL)
]
Password = Annotated[
    str | None,
    typer.Option(
        envvar="AS2BUS_PARTNER_PASSWORD",
        help="Password (--auth basic); asked for, hidden, if missing. Never printed.",
        rich_help_panel=AUTH_PANEL,
    ),
]
TokenValue = Annotated[
    str | None,
    typer.Option(
        envvar="AS2BUS_PARTNER_TOKEN",
        help="The token (--auth token); asked for, hidden, if missing. Never printed.",
        rich_help_panel=AUTH_PANEL,
    ),
]
TokenPlacement = Annotated[
    Placement | None,
    typer.Option(help="Where the token goes in the request.", rich_help_panel=AUTH_PANEL),
]
TokenHeader = Annotated[
    str | None,
    typer.Option(
        help="Header carrying the token (default Authorization).", rich_help_panel=AUTH_PANEL
    ),
]
TokenScheme = Annotated[
    str | None,
    typer.Option(
        help="Scheme before the token in the header (default Bearer).", rich_help_panel=AUTH_PANEL
    ),
]
TokenParam = Annotated[
    str | None,
    typer.Option(help="Query parameter for --token-placement query.", rich_help_panel=AUTH_PANEL),
]
TokenBodyField = Annotated[
    str | None,
    typer.Option(help="Body field for --token-placement body.", rich_help_panel=AUTH_PANEL),
]

#: CLI parameter name → API field, for the plain settings.
FIELDS = {
    "as2_id": "as2_id", "name": "name", "url": "as2_url", "alias": "as2_alias", "email": "email",
    "mdn": "mdn_mode", "async_mdn_url": "async_mdn_url", "mdn_signed": "mdn_signed",
    "mdn_signature": "mdn_signature",
    "mdn_signing_alg": "mdn_signing_alg", "encryption": "encryption_alg",
    "signing": "signing_alg", "compression": "compression", "encoding": "outgoing_encoding",
    "max_concurrency": "max_concurrency", "signature_scheme": "signature_scheme",
    "key_transport": "key_transport",
    "accept_expired_mdn_cert": "accept_expired_mdn_certificate",
    "canonicalize_line_endings": "canonicalize_line_endings", "as2_version": "as2_version",
    "replay_protection": "replay_protection",
}  # fmt: skip
BASIC_OPTS = ("username", "password")
TOKEN_OPTS = {
    "token_value": "token", "token_placement": "placement", "token_header": "header_name",
    "token_scheme": "scheme", "token_param": "param_name", "token_body_field": "body_field",
}  # fmt: skip
TOKEN_PUBLIC = ("placement", "header_name", "scheme", "param_name", "body_field")


def settings(params: dict[str, Any]) -> dict[str, Any]:
    """The request body for every non-authentication option the user gave."""
    body = {api: params[cli] for cli, api in FIELDS.items() if params.get(cli) is not None}
    if params.get("rate_limit") is not None:
        body["rate_limit_per_second"] = params["rate_limit"] or None  # 0 lifts the limit
    if params.get("subject") is not None:
        body["default_subject"] = params["subject"] or None  # "" goes back to the default
    given = list(params.get("async_mdn_network") or [])  # () when not given
    if given and params.get("no_async_mdn_networks"):
        raise CliError("give --async-mdn-network or --no-async-mdn-networks, not both")
    if given or params.get("no_async_mdn_networks"):
        body["async_mdn_networks"] = given
    if params.get("disabled"):
        body["enabled"] = False
    return body
