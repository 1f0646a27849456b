"""The Partner form ↔ config-svc's partner JSON, without I/O.

The form is flat (one name per input); the API nests the HTTP authentication. Secrets
(password, token, refresh token, the token endpoint's header values) are write-only: the form
never shows them, and one left blank is left out of the JSON, which config-svc reads as "keep
the stored one" (config-svc's partner_auth.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from as2bus.as2.algorithms import (
    Compression,
    EncryptionAlg,
    KeyTransport,
    SignatureScheme,
    SigningAlg,
    TransferEncoding,
)
from as2bus.console.domain import partner_tls_form as tls
from as2bus.console.domain.config_forms import only_changes, place_errors, typed
from as2bus.contracts.config import MAX_PARTNER_CONCURRENCY, MdnMode, MdnSignature

Choices = list[tuple[str, str]]  # (value, label)

TEXT_FIELDS = ("as2_id", "name", "as2_alias", "email", "as2_url", "default_subject",
               "async_mdn_url")  # fmt: skip
#: One network a line (the async MDNs of the partner's messages may go there: inbound-svc).
NETWORKS = "async_mdn_networks"
NUMBER_FIELDS = {"rate_limit_per_second": float, "max_concurrency": int, "max_attempts": int}
#: Selects whose "none" means no algorithm (null in the API).
ALGORITHM_FIELDS = ("signing_alg", "encryption_alg", "mdn_signing_alg")
CHOICE_FIELDS = (
    "compression", "outgoing_encoding", "mdn_mode", "mdn_signature", "signature_scheme",
    "key_transport", "as2_version",
)  # fmt: skip
#: Yes/no selects ("on"/"off"), like the partner's status.
FLAG_FIELDS = ("accept_expired_mdn_certificate", "canonicalize_line_endings", "replay_protection")
SECRET_FIELDS = ("auth_password", "token", "refresh_token", "refresh_headers")
AUTH_FIELDS = (
    "auth_type", "auth_username", "auth_password", "token_header_name", "token_scheme",
    "token_param_name", "token_body_field", "token", "refresh", "refresh_uri", "refresh_method",
    "refresh_media_type", "refresh_token_path", "refresh_token", "refresh_headers",
)  # fmt: skip
FIELDS = (*TEXT_FIELDS, NETWORKS, "enabled", *NUMBER_FIELDS, *ALGORITHM_FIELDS, *CHOICE_FIELDS,
          *FLAG_FIELDS, *AUTH_FIELDS, *tls.FIELDS)  # fmt: skip

_ADVICE = {
    SigningAlg.SHA1: " (old: only if the partner can do nothing better)",
    SigningAlg.SHA256: " (recommended)",
    EncryptionAlg.TRIPLE_DES: " (old: only if the partner can do nothing better)",
    EncryptionAlg.AES256: " (recommended)",
    EncryptionAlg.AES256_GCM: " (only if the partner supports AES-GCM)",
    EncryptionAlg.AES128_GCM: " (only if the partner supports AES-GCM)",
}


def _algorithm(value: SigningAlg | EncryptionAlg) -> tuple[str, str]:
    """An algorithm as its spec writes it (aes256-cbc → AES-256-CBC), with advice."""
    name = value.upper().replace("SHA", "SHA-").replace("AES", "AES-")
    return value.value, name + _ADVICE.get(value, "")


SIGNING: Choices = [_algorithm(a) for a in SigningAlg]
ENCRYPTION: Choices = [_algorithm(a) for a in EncryptionAlg]
COMPRESSION: Choices = [
    (Compression.NONE.value, "No compression (recommended)"),
    (Compression.BEFORE_SIGNING.value, "Compress before signing"),
    (Compression.AFTER_SIGNING.value, "Compress after signing"),
]
ENCODING: Choices = [(e.value, e.value) for e in TransferEncoding]
SIGNATURE_SCHEMES: Choices = [
    (SignatureScheme.PKCS1V15.value, "RSA PKCS#1 v1.5 (recommended)"),
    (SignatureScheme.PSS.value, "RSASSA-PSS (only if the partner asks for it)"),
]
YES_NO: Choices = [("off", "No (recommended)"), ("on", "Yes")]
YES_RECOMMENDED: Choices = [("on", "Yes (recommended)"), ("off", "No")]
AS2_VERSIONS: Choices = [
    ("1.2", "1.2 (recommended)"),
    ("1.1", "1.1 (only if the partner asks for it)"),
    ("1.0", "1.0 (only if the partner asks for it; no compression)"),
]
KEY_TRANSPORTS: Choices = [
    (KeyTransport.RSA_PKCS1V15.value, "RSA PKCS#1 v1.5 (recommended)"),
    (KeyTransport.RSA_OAEP_SHA256.value, "RSA-OAEP with SHA-256 (only if the partner asks)"),
]
_MDN_NAMES = {"sync": "Synchronous (recommended)", "async": "Asynchronous", "none": "None",
              "required": "Required (recommended)", "preferred": "Preferred"}  # fmt: skip
MDN_MODES: Choices = [(m, _MDN_NAMES.get(m, m)) for m in get_args(MdnMode)]
MDN_SIGNATURES: Choices = [(s, _MDN_NAMES.get(s, s)) for s in get_args(MdnSignature)]
AUTH_TYPES: Choices = [
    ("none", "None"),
    ("basic", "User name and password (Basic)"),
    ("token-header", "Token in a header"),
    ("token-query", "Token as a URL parameter"),
    ("token-body", "Token in a form field (multipart)"),
]
REFRESH_METHODS: Choices = [(m, m) for m in ("POST", "GET", "PUT")]
MAX_CONCURRENCY = MAX_PARTNER_CONCURRENCY

#: What a new partner's form starts with: the API's defaults.
NEW_PARTNER = {
    "enabled": "on", "signing_alg": SigningAlg.SHA256.value,
    "encryption_alg": EncryptionAlg.AES256.value, "compression": Compression.NONE.value,
    "signature_scheme": SignatureScheme.PKCS1V15.value,
    "key_transport": KeyTransport.RSA_PKCS1V15.value, "accept_expired_mdn_certificate": "off",
    "canonicalize_line_endings": "off", "replay_protection": "on", "as2_version": "1.2",
    "outgoing_encoding": TransferEncoding.BINARY.value, "mdn_mode": "sync",
    "mdn_signature": "required", "mdn_signing_alg": SigningAlg.SHA256.value,
    "max_concurrency": str(MAX_PARTNER_CONCURRENCY), "auth_type": "none",
    "token_header_name": "Authorization", "token_scheme": "Bearer",
    "token_param_name": "access_token", "token_body_field": "access_token",
    "refresh_method": "POST", "refresh_media_type": "application/json",
    "refresh_token_path": "access_token", NETWORKS: "", **tls.tls_values(None),
}  # fmt: skip

#: Each field's label: one source for the admin's form (partner.html) and the page the others
#: read (partner_facts), so both speak alike.
LABELS = {
    "as2_id": "Partner AS2 ID", "name": "Partner Name", "as2_alias": "Partner AS2 Alias",
    "email": "Partner Email", "enabled": "Status", "as2_url": "Partner URL",
    "default_subject": "Default subject",
    "signing_alg": "Signing algorithm", "encryption_alg": "Encryption algorithm",
    "signature_scheme": "Signature scheme", "key_transport": "Key transport",
    "compression": "Compression", "outgoing_encoding": "Transfer encoding",
    "canonicalize_line_endings": "Canonicalize line endings",
    "replay_protection": "Replay protection", "as2_version": "AS2 version",
    "mdn_mode": "MDN mode", "mdn_signature": "MDN signature",
    "mdn_signing_alg": "MDN signing algorithm",
    "accept_expired_mdn_certificate": "Accept an expired MDN certificate",
    "async_mdn_url": "Async MDN URL",
    "async_mdn_networks": "Networks our async MDNs may go to",
    "auth_type": "Authentication", "auth_username": "User name", "auth_password": "Password",
    "token_header_name": "Header name", "token_scheme": "Scheme",
    "token_param_name": "URL parameter name", "token_body_field": "Form field name",
    "token": "Token", "refresh": "Get and refresh the token from a token endpoint",
    "refresh_uri": "Token endpoint", "refresh_method": "Method",
    "refresh_media_type": "Request media type",
    "refresh_token_path": "Where the token is in the answer", "refresh_token": "Refresh token",
    "refresh_headers": "Extra headers of the token request",
    "tls_ca_bundle_pem": "Trusted CA certificates",
    "tls_pinned_sha256": "Pinned certificates (SHA-256)", "tls_min_version": "Lowest TLS version",
    "tls_client_certificate": "Present our client certificate", "tls_proxy_url": "Proxy",
    "tls_follow_redirects": "Follow redirects",
    "tls_skip_verify": "Skip verification of the partner's server certificate (test partners only)",
    "tls_require_client_certificate": "Require the partner's client certificate",
    "tls_client_certificates_pem": "Partner's client certificates",
    "rate_limit_per_second": "Rate limit (messages per second)",
    "max_concurrency": "Concurrency (messages at once)", "max_attempts": "Max attempts",
}  # fmt: skip
#: The form's groups (fieldset id → legend), which the read-only page keeps.
GROUPS = {
    "partner-identity": "Partner", "partner-connection": "Connection",
    "partner-security": "Security", "partner-mdn": "MDN (the partner's receipt)",
    "partner-auth": "HTTP authentication", "token-refresh": "Token endpoint", "partner-tls": "TLS",
    "partner-tls-receiving": "Receiving (mutual TLS)", "partner-limits": "Limits",
}  # fmt: skip
#: Each select's choices (value, label).
CHOICES: dict[str, Choices] = {
    "enabled": [("on", "On"), ("off", "Off")],
    "signing_alg": [*SIGNING, ("none", "Not signed")],
    "encryption_alg": [*ENCRYPTION, ("none", "Not encrypted")],
    "signature_scheme": SIGNATURE_SCHEMES, "key_transport": KEY_TRANSPORTS,
    "compression": COMPRESSION, "outgoing_encoding": ENCODING,
    "canonicalize_line_endings": YES_NO, "replay_protection": YES_RECOMMENDED,
    "as2_version": AS2_VERSIONS, "mdn_mode": MDN_MODES, "mdn_signature": MDN_SIGNATURES,
    "mdn_signing_alg": [*SIGNING, ("none", "None (only with MDN signature None)")],
    "accept_expired_mdn_certificate": YES_NO, "auth_type": AUTH_TYPES,
    "refresh_method": REFRESH_METHODS, "tls_min_version": tls.TLS_VERSIONS,
    "tls_client_certificate": YES_NO, "tls_follow_redirects": YES_NO,
    "tls_require_client_certificate": YES_NO,
}  # fmt: skip


def partner_body(
    form: Mapping[str, str], current: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON of a new partner (``current`` None) or of a partner's update (only what
    changed), and the mistakes found before asking the API (form field → sentence)."""
    body = typed(form, TEXT_FIELDS, current)
    body["enabled"] = form.get("enabled", "on") == "on"
    networks = _lines(form.get(NETWORKS, ""))
    if NETWORKS in form and networks != ((current or {}).get(NETWORKS) or []):
        body[NETWORKS] = networks  # a state from before the setting reads as none
    for name in ALGORITHM_FIELDS:
        if name in form:
            body[name] = None if form[name] in ("", "none") else form[name]
    body.update({name: form[name] for name in CHOICE_FIELDS if form.get(name)})
    for name in FLAG_FIELDS:
        # A state from before the flag existed reads as "off": unchanged, it is not sent.
        if name in form and (current is None or (form[name] == "on") != bool(current.get(name))):
            body[name] = form[name] == "on"
    for name, kind in NUMBER_FIELDS.items():
        if form.get(name):
            body[name] = _number(form[name], kind)
        elif current is not None and name != "max_concurrency":
            body[name] = None  # emptied: no limit, outbound-svc's default
    auth, mistakes = _auth(form)
    tls_settings, tls_mistakes = tls.tls_body(form, current)
    mistakes.update(tls_mistakes)
    if tls_settings is not None:
        body["tls"] = tls_settings  # a new partner's, or only the TLS fields that changed
    if current is None:
        return {**body, "http_auth": auth}, mistakes
    changes = only_changes(body, current)
    if not _same_auth(auth, current.get("http_auth") or {"type": "none"}):
        changes["http_auth"] = auth
    return changes, mistakes


def _lines(text: str) -> list[str]:
    """One value a line, blank lines left out (config-svc checks each and writes it
    canonically)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _number(text: str, kind: type[int] | type[float]) -> int | float | str:
    """A number as typed; not a number, it goes as text and the API's refusal names it."""
    try:
        return kind(text)
    except ValueError:
        return text


def _auth(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    kind = form.get("auth_type", "none")
    if kind == "basic":
        basic = {"type": "basic", "username": form.get("auth_username", "")}
        return _with_secret(basic, "password", form.get("auth_password")), {}
    if not kind.startswith("token-"):
        return {"type": "none"}, {}
    placement = kind.removeprefix("token-")
    token: dict[str, Any] = {"type": "token", "placement": placement}
    if placement == "header":
        token["header_name"] = form.get("token_header_name", "")
        token["scheme"] = form.get("token_scheme", "")  # empty: the bare token
    else:
        name = "param_name" if placement == "query" else "body_field"
        token[name] = form.get(f"token_{name}", "")
    _with_secret(token, "token", form.get("token"))
    if form.get("refresh") != "on":
        token["refresh"] = None
        return token, {}
    refresh: dict[str, Any] = {"uri": form.get("refresh_uri", "")}
    for name in ("method", "media_type", "token_path"):
        if form.get(f"refresh_{name}"):
            refresh[name] = form[f"refresh_{name}"]
    _with_secret(refresh, "refresh_token", form.get("refresh_token"))
    headers, mistake = _headers(form.get("refresh_headers", ""))
    if headers:
        refresh["headers"] = headers
    token["refresh"] = refresh
    return token, ({"refresh_headers": mistake} if mistake else {})


def _with_secret(auth: dict[str, Any], name: str, value: str | None) -> dict[str, Any]:
    if value:  # blank: config-svc keeps the stored secret
        auth[name] = value
    return auth


def _headers(text: str) -> tuple[dict[str, str], str | None]:
    """The token endpoint's extra headers, one "Name: value" a line."""
    headers: dict[str, str] = {}
    for line in filter(None, (line.strip() for line in text.splitlines())):
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            return {}, "write one header a line, as Name: value"
        headers[name.strip()] = value.strip()
    return headers, None


_PUBLIC_ONLY = {"password_set", "token_set", "refresh_token_set", "header_names"}


def _same_auth(auth: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """Whether the form's authentication is the stored one: same settings, no secret typed.
    Left out of an update then: saving an untouched form changes nothing (and records
    nothing in the audit trail)."""

    def same(typed_: Any, kept: Any) -> bool:
        if isinstance(typed_, Mapping):
            if not isinstance(kept, Mapping):
                return False
            return all(same(v, kept.get(k)) for k, v in typed_.items())
        return bool(typed_ == kept)

    secret_typed = any(k in auth for k in ("password", "token")) or any(
        k in (auth.get("refresh") or {}) for k in ("refresh_token", "headers")
    )
    return not secret_typed and same(auth, stored)


def partner_values(state: Mapping[str, Any]) -> dict[str, str]:
    """A stored partner as its form shows it: no secret, only whether one is stored."""
    values = {name: str(state.get(name) or "") for name in TEXT_FIELDS}
    values["enabled"] = "on" if state.get("enabled", True) else "off"
    values[NETWORKS] = "\n".join(state.get(NETWORKS) or [])
    values.update({name: state.get(name) or "none" for name in ALGORITHM_FIELDS})
    values.update({name: str(state.get(name) or "") for name in CHOICE_FIELDS})
    values.update({name: "on" if state.get(name) else "off" for name in FLAG_FIELDS})
    for name in NUMBER_FIELDS:
        number = state.get(name)
        values[name] = "" if number is None else f"{number:g}"
    auth = state.get("http_auth") or {"type": "none"}
    values.update({k: v for k, v in NEW_PARTNER.items() if k.startswith(("token_", "refresh_"))})
    if auth["type"] == "basic":
        values.update(auth_type="basic", auth_username=auth.get("username", ""))
    elif auth["type"] == "token":
        values["auth_type"] = f"token-{auth.get('placement', 'header')}"
        for name in ("header_name", "scheme", "param_name", "body_field"):
            values[f"token_{name}"] = str(auth.get(name) or "")
        refresh = auth.get("refresh")
        if refresh:
            values["refresh"] = "on"
            for name in ("uri", "method", "media_type", "token_path"):
                values[f"refresh_{name}"] = str(refresh.get(name) or "")
    else:
        values["auth_type"] = "none"
    values.update(tls.tls_values(state.get("tls")))
    return values


def stored_secrets(state: Mapping[str, Any]) -> dict[str, str]:
    """Form field → what is stored for it, for the "set" hint next to a secret's empty field."""
    auth = state.get("http_auth") or {}
    refresh = auth.get("refresh") or {}
    found = {
        "auth_password": auth.get("password_set"),
        "token": auth.get("token_set"),
        "refresh_token": refresh.get("refresh_token_set"),
    }
    stored = {name: "set" for name, is_set in found.items() if is_set}
    if refresh.get("header_names"):
        stored["refresh_headers"] = ", ".join(refresh["header_names"])
    return stored


def typed_back(form: Mapping[str, str]) -> dict[str, str]:
    """What a refused form shows again: everything typed but the secrets (and a private key
    pasted where certificates belong)."""
    return tls.without_private_keys({k: v for k, v in form.items() if k not in SECRET_FIELDS})


#: API field names (after the authentication's own prefix) → the form's.
_AUTH_NAMES = {"username": "auth_username", "password": "auth_password", "token": "token",
               "type": "auth_type", "placement": "auth_type", "refresh": "refresh",
               "refresh.refresh_token": "refresh_token"}  # fmt: skip


def form_field(api_field: str) -> str:
    """The form field an API refusal belongs to: ``http_auth.basic.username`` (pydantic names
    the variant) and ``http_auth.password`` (config-svc's rules do not) → ``auth_username``…;
    ``async_mdn_networks.2`` (the refusal names the network) → ``async_mdn_networks``."""
    parts = api_field.split(".")
    if parts[0] == NETWORKS:
        return NETWORKS
    if parts[0] != "http_auth":
        return api_field
    rest = parts[1:]
    if len(rest) > 1 and rest[0] in ("none", "basic", "token"):
        rest = rest[1:]
    if not rest:
        return "auth_type"
    name = ".".join(rest)
    if name in _AUTH_NAMES:
        return _AUTH_NAMES[name]
    if rest[0] == "refresh":
        return "refresh_" + rest[1] if rest[1] != "headers" else "refresh_headers"
    return "token_" + rest[0]


def partner_errors(errors: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The API's refusals of a partner form: by form field, and those of no field."""
    errors = tls.tls_form_errors(errors)
    return place_errors(errors, FIELDS, {key: form_field(key) for key in errors}, LABELS)
