"""Replay protection, for partners that have it: a signed message is delivered once per
signature, not once per Message-ID.

The Message-ID is an HTTP header, which no signature covers: whoever captured one signed
message can post it again under a new Message-ID, and the ledger (``ports.MessageLedger``)
sees a new message. What the partner signed (its content's digest and the signing time,
``as2.ReceivedMessage.signature_key``) cannot be changed without the partner's key, so it
is what is remembered: a signature accepted before, under another Message-ID, is a
duplicate; a signing time outside the window (``domain.ReplayWindow``) is refused, since its
signature may have been forgotten already.

The signature is held for the Message-ID *before* the message is delivered (one holder per
partner and signature: of two copies posted at once, on two replicas, one is delivered), and
marked accepted only once MessageReceived is on the bus, before the ledger says delivered. A
failed delivery releases it. So a crash at any point can neither lose the record of a
delivered message nor record one that was not delivered: the resend of the same Message-ID
finds its own hold and goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from as2bus import as2
from as2bus.contracts import PartnerState
from as2bus.inbound.domain import ReplayWindow, stamp
from as2bus.inbound.ports import SeenSignature, SeenSignatures


@dataclass(frozen=True)
class Held:
    """A signature held for a message being delivered: to mark accepted, or release."""

    partner: str
    key: str
    message_id: str


@dataclass(frozen=True)
class Verdict:
    """``deliver`` (holding the signature when protected), or why not: ``refused`` (a signing
    time outside the window), ``duplicate`` (accepted under ``first``'s Message-ID) or
    ``pending`` (``first``'s is being delivered: send again later)."""

    outcome: Literal["deliver", "refused", "duplicate", "pending"]
    held: Held | None = None
    first: SeenSignature | None = None
    metric: str = ""  # the reason label of ``metrics.REPLAYS``
    reason: str = ""  # a sentence for the partner and the operator

    @property
    def error(self) -> as2.As2Error:
        """The refusal, as the codec's refusals are answered (a negative MDN or a 4xx)."""
        return as2.As2Error("authentication-failed", self.reason)


DELIVER = Verdict("deliver")


class ReplayProtection:
    def __init__(
        self,
        seen: SeenSignatures,
        window: ReplayWindow,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._seen = seen
        self._window = window
        self._clock = clock

    async def check(self, partner: PartnerState, message: as2.ReceivedMessage) -> Verdict:
        """Whether to deliver ``message``; raises when the signatures cannot be reached."""
        key = message.signature_key
        if not partner.replay_protection or key is None:  # off, or nothing signed
            return DELIVER
        now, signed_at = self._clock(), message.signed_at
        refusal = self._window.refusal(signed_at, now)
        if refusal is not None:
            return Verdict("refused", metric=refusal[0], reason=refusal[1])
        first = await self._seen.claim(
            partner.as2_id,
            key,
            message.message_id,
            signed_at=signed_at,
            now=now,
            kept_until=self._window.kept_until(signed_at, now),
        )
        if first.claim == "new":
            return Verdict("deliver", held=Held(partner.as2_id, key, message.message_id))
        signed = f"signed at {stamp(signed_at)}" if signed_at else "signed"
        if first.claim == "accepted":
            return Verdict(
                "duplicate",
                first=first,
                metric="signature-seen",
                reason=f"the same message ({signed}) was accepted on {stamp(first.claimed_at)} "
                f"as Message-ID {first.message_id}: a replay under a new Message-ID, "
                "not delivered again",
            )
        return Verdict(
            "pending",
            first=first,
            metric="signature-in-delivery",
            reason=f"the same message ({signed}) is being delivered as Message-ID "
            f"{first.message_id}",
        )

    async def accepted(self, held: Held) -> None:
        await self._seen.accepted(held.partner, held.key, held.message_id, self._clock())

    async def release(self, held: Held) -> None:
        await self._seen.release(held.partner, held.key, held.message_id)
