"""Rules about configuration that hold whatever stores or transports it. No I/O here."""

from __future__ import annotations

from as2bus.shared.errors import FieldError, InvalidFieldsError

AS2_ID_MAX = 128


def check_as2_id(value: str) -> str:
    """RFC 4130 §6.2: 1 to 128 printable ASCII characters. Spaces are allowed inside (the
    header is quoted then) but not at either end, where they would be lost in transit."""
    if not 1 <= len(value) <= AS2_ID_MAX:
        raise ValueError(f"must be 1 to {AS2_ID_MAX} characters long")
    bad = sorted({c for c in value if not 0x20 <= ord(c) <= 0x7E})
    if bad:
        raise ValueError(f"must be printable ASCII; found {', '.join(repr(c) for c in bad)}")
    if value != value.strip():
        raise ValueError("must not start or end with a space")
    if '"' in value or "\\" in value:
        raise ValueError("must not contain a double quote or a backslash")
    return value


def differs_only_in_case(entity: str, existing: str) -> FieldError:
    """A second station or partner whose AS2 ID equals one stored but for case: refused,
    because partners' products often compare AS2 IDs without case (and its derived certificate
    alias, lowercased, would be the existing one's)."""
    return FieldError(
        "as2_id",
        f"a {entity} {existing!r} exists; AS2 IDs that differ only in case are refused: "
        "partners' products often compare them without case",
        "as2_id_differs_only_in_case",
    )


AS2_1_0_COMPRESSION = (
    "AS2 1.0 has no compression (RFC 5402 came with 1.1): set compression to none, or "
    "as2_version to 1.1 or 1.2"
)

MUTUAL_TLS_WITHOUT_CERTIFICATES = (
    "required when require_client_certificate is on: the partner's TLS client certificate(s) "
    "or the CA that issues them, else every message from it would be refused"
)


def check_partner_rules(settings: dict[str, object], secrets: dict[str, object]) -> None:
    """Cross-field rules on a partner's complete settings (after a create or a patch)."""
    errors: list[FieldError] = []
    if settings.get("mdn_mode") == "async" and not settings.get("async_mdn_url"):
        errors.append(FieldError("async_mdn_url", "required when mdn_mode is 'async'"))
    signed_mdn = settings.get("mdn_signature") in ("required", "preferred")
    if signed_mdn and not settings.get("mdn_signing_alg"):
        errors.append(FieldError("mdn_signing_alg", "required unless mdn_signature is 'none'"))
    if settings.get("as2_version") == "1.0" and settings.get("compression") not in (None, "none"):
        errors.append(FieldError("as2_version", AS2_1_0_COMPRESSION))
    auth = settings.get("http_auth")
    if isinstance(auth, dict):
        errors.extend(_auth_errors(auth, secrets))
    tls = settings.get("tls")
    if isinstance(tls, dict) and tls.get("require_client_certificate"):
        errors.extend(_mutual_tls_errors(tls))
    if errors:
        raise InvalidFieldsError(*errors)


def _mutual_tls_errors(tls: dict[str, object]) -> list[FieldError]:
    if tls.get("client_certificates_pem"):
        return []
    return [FieldError("tls.client_certificates_pem", MUTUAL_TLS_WITHOUT_CERTIFICATES)]


def _auth_errors(auth: dict[str, object], secrets: dict[str, object]) -> list[FieldError]:
    kind = auth.get("type")
    if kind == "basic" and not secrets.get("password"):
        return [FieldError("http_auth.password", "required for basic authentication")]
    if kind != "token":
        return []
    errors = []
    if not secrets.get("token") and not auth.get("refresh"):
        errors.append(FieldError("http_auth.token", "required unless a token refresh is set"))
    placement_field = {"header": "header_name", "query": "param_name", "body": "body_field"}
    needed = placement_field[str(auth.get("placement", "header"))]
    if not auth.get(needed):
        errors.append(
            FieldError(f"http_auth.{needed}", f"required for placement {auth.get('placement')!r}")
        )
    refresh = auth.get("refresh")
    if isinstance(refresh, dict) and not secrets.get("refresh_token"):
        errors.append(FieldError("http_auth.refresh.refresh_token", "required for a token refresh"))
    return errors
