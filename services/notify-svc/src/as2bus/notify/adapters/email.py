"""E-mail channel: SMTP with STARTTLS (or TLS from the start), a plain-text message.

Credentials go only over TLS: with security "starttls" a server that offers no STARTTLS is
refused, not talked to in the clear; "none" (a local relay) takes no credentials at all
(config-svc refuses them, and this refuses them again). smtplib blocks, so each message is
sent on a thread of its own.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from as2bus.notify.ports import Channel, DeliveryError


def compose(target: dict[str, Any], payload: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = target["sender"]
    message["To"] = ", ".join(target["recipients"])
    message["Subject"] = f"[as2bus] {payload['title']}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=str(target["sender"]).split("@")[-1])
    message["X-As2bus-Notification-Id"] = str(payload["id"])
    rule = payload.get("rule", {})
    lines = [
        payload["summary"],
        "",
        f"Rule:        {rule.get('name')} ({payload['kind']})",
        f"About:       {payload['subject']}",
        f"State:       {payload['state']}",
        f"Events:      {payload['count']}",
        f"First seen:  {payload['first_seen']}",
        f"Last seen:   {payload['last_seen']}",
        f"Notice id:   {payload['id']}",
        *([f"Console:     {payload['link']}"] if payload.get("link") else []),
        "",
        "-- ",
        "as2bus notify-svc. Rules and channels: as2bus notification rule list / channel list.",
    ]
    message.set_content("\n".join(lines) + "\n")
    return message


def _context(target: dict[str, Any]) -> ssl.SSLContext:
    ca = target.get("ca_bundle_pem")
    return ssl.create_default_context(cadata=ca) if ca else ssl.create_default_context()


def send_blocking(
    target: dict[str, Any], secrets: dict[str, Any], message: EmailMessage, timeout: float
) -> None:
    host, port, security = str(target["host"]), int(target["port"]), target.get("security")
    where = f"{host}:{port}"
    username = target.get("username")
    try:
        if security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=_context(target)
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        f"the SMTP server {where} offers no STARTTLS; nothing is sent without TLS"
                    )
                smtp.starttls(context=_context(target))
                smtp.ehlo()
            if username:
                if security not in ("starttls", "tls"):
                    raise DeliveryError("SMTP credentials are sent only over TLS")
                smtp.login(str(username), str(secrets.get("password") or ""))
            smtp.send_message(message)
    except ssl.SSLCertVerificationError as err:
        raise DeliveryError(
            f"the SMTP server {where}'s certificate is not trusted ({err.verify_message}); "
            "give the channel its CA (ca_bundle_pem)"
        ) from None
    except smtplib.SMTPAuthenticationError as err:
        raise DeliveryError(
            f"the SMTP server {where} refused the login of {username} ({err.smtp_code})"
        ) from None
    except smtplib.SMTPException as err:
        raise DeliveryError(f"the SMTP server {where} refused the message: {err}") from None
    except (OSError, TimeoutError) as err:
        raise DeliveryError(f"cannot talk to the SMTP server {where}: {err}") from None


class EmailSender:
    def __init__(self, *, timeout: float = 20.0) -> None:
        self._timeout = timeout

    async def send(self, channel: Channel, payload: dict[str, Any]) -> None:
        message = compose(channel.target, payload)
        await asyncio.to_thread(
            send_blocking, channel.target, channel.secrets, message, self._timeout
        )
