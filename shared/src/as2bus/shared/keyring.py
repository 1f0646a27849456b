"""Which certificates to use at a given moment: the rotation window, in one place.

A certificate is *in service* from its ``activation_at`` until its ``retirement_at`` (open-ended
when None). During a switchover two certificates of one alias are in service at once:

- verifying a partner's signature accepts every partner certificate in service and unexpired;
- decrypting tries every own key in service, newest first (an expired key still decrypts:
  it is ours, and a partner may be slow to switch);
- signing and encrypting use the newest certificate in service; when only expired ones are
  left that is an error with reason ``CERT_HAS_EXPIRED``, not a message the partner rejects.

Which of our aliases a partnership uses is decided here too (`own_alias`): its keystore's when
it has one, else its station's, so a keystore made for one partnership never changes the key
another one signs and decrypts with.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from as2bus.contracts.certs import CertKind, KeyMaterialEntry, PartnershipKey

Reason = Literal["CERT_HAS_EXPIRED", "CERT_NOT_FOUND"]


class CertificateUnavailableError(LookupError):
    def __init__(
        self, reason: Reason, alias: str, kind: CertKind, detail: str, sentence: str | None = None
    ) -> None:
        #: Without the reason code: for a record that carries the code beside it (a
        #: MessageRejected's code and reason), where the code twice read "CERT_NOT_FOUND:
        #: CERT_NOT_FOUND: ...".
        self.sentence = sentence or f"{kind} certificate '{alias}': {detail}"
        super().__init__(f"{reason}: {self.sentence}")
        self.reason = reason
        self.alias = alias
        self.kind = kind


def no_key_yet(station_as2_id: str, partner_as2_id: str) -> str:
    """Why a partnership without a keystore (and no key under its station's alias) cannot
    sign, and what to do: the same words in the CLI's verdict and the console's reason."""
    command = (
        f"as2bus keystore create --station {shlex.quote(station_as2_id)} "
        f"--partner {shlex.quote(partner_as2_id)}"
    )
    return (
        f"{station_as2_id} -> {partner_as2_id} has no key of ours yet: create its keystore "
        f'({command}, or in the console: the PartnerShip\'s "Create its certificates")'
    )


def in_service(entry: KeyMaterialEntry, at: datetime, until: datetime | None = None) -> bool:
    """In service at ``at``, or with ``until`` at some moment from ``at`` to ``until``."""
    start, retired = entry.activation_at, entry.retirement_at
    return start <= (until or at) and (retired is None or (at < retired and start < retired))


def expired(entry: KeyMaterialEntry, at: datetime) -> bool:
    return not entry.not_before <= at < entry.not_after


class KeyRing:
    def __init__(
        self, entries: Iterable[KeyMaterialEntry], partnership_keys: Iterable[PartnershipKey] = ()
    ) -> None:
        self.entries = list(entries)
        self._own_aliases = {
            (k.station_as2_id, k.partner_as2_id): k.private_key_alias for k in partnership_keys
        }

    def own_alias(self, station_as2_id: str, partner_as2_id: str, station_alias: str) -> str:
        """Our key alias for a partnership: its keystore's, or ``station_alias`` without one."""
        return self._own_aliases.get((station_as2_id, partner_as2_id), station_alias)

    def partnership_signing_key(
        self, station_as2_id: str, partner_as2_id: str, station_alias: str, at: datetime
    ) -> KeyMaterialEntry:
        """Our newest valid key for a partnership (its keystore's, else its station's)."""
        alias = self.own_alias(station_as2_id, partner_as2_id, station_alias)
        try:
            return self.signing_key(alias, at)
        except CertificateUnavailableError as err:
            has_keystore = (station_as2_id, partner_as2_id) in self._own_aliases
            ever_had_one = any(e.alias == alias and e.kind == "own" for e in self.entries)
            if err.reason != "CERT_NOT_FOUND" or has_keystore or ever_had_one:
                raise
            # Not a key gone missing: the partnership was never given one.
            raise CertificateUnavailableError(
                "CERT_NOT_FOUND", alias, "own", err.sentence,
                no_key_yet(station_as2_id, partner_as2_id),
            ) from None  # fmt: skip

    def _in_service(
        self, alias: str, kind: CertKind, at: datetime, until: datetime | None = None
    ) -> list[KeyMaterialEntry]:
        found = [
            e
            for e in self.entries
            if e.alias == alias and e.kind == kind and in_service(e, at, until)
        ]
        return sorted(found, key=lambda e: e.activation_at, reverse=True)

    def _newest_valid(self, alias: str, kind: CertKind, at: datetime) -> KeyMaterialEntry:
        candidates = self._in_service(alias, kind, at)
        valid = [e for e in candidates if not expired(e, at)]
        if valid:
            return valid[0]
        if candidates:
            last = max(e.not_after for e in candidates)
            raise CertificateUnavailableError(
                "CERT_HAS_EXPIRED", alias, kind, f"expired on {last.isoformat(timespec='seconds')}"
            )
        raise CertificateUnavailableError(
            "CERT_NOT_FOUND", alias, kind, f"none in service at {at.isoformat(timespec='seconds')}"
        )

    def signing_key(self, alias: str, at: datetime) -> KeyMaterialEntry:
        return self._newest_valid(alias, "own", at)

    def encryption_certificate(self, alias: str, at: datetime) -> KeyMaterialEntry:
        return self._newest_valid(alias, "partner", at)

    def decryption_keys(self, alias: str, at: datetime) -> list[KeyMaterialEntry]:
        return self._in_service(alias, "own", at)

    def verification_certificates(
        self,
        alias: str,
        at: datetime,
        *,
        expired_too: bool = False,
        coming_until: datetime | None = None,
    ) -> list[KeyMaterialEntry]:
        """The partner's certificates in service. ``expired_too`` for MDNs: the codec checks
        each against the signature's signing time, and says "expired on ..." when it has to
        refuse one (or accepts it, for a partner set to ``accept_expired_mdn_certificate``).
        ``coming_until``: also those that come into service up to then (a sync MDN to a
        message sent at ``at`` may be signed after the partner's switch to a new key)."""
        found = self._in_service(alias, "partner", at, coming_until)
        return found if expired_too else [e for e in found if not expired(e, at)]
