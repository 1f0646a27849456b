"""The scenarios of ``make chaos`` (what each one does, and the load), and how a request's
fate is told from what the bus and the partner saw; no stack here (the tests import it)."""

from __future__ import annotations

from dataclasses import dataclass

NATS, POSTGRES = "nats-server", "postgres"  # the targets that are not services

NO_FAULT = "nothing"
LEASE_SECONDS = 10  # how soon a claimed message of a dead outbound replica is taken over


@dataclass(frozen=True)
class Scenario:
    key: str
    target: str  # a process of the stack: a service's name, nats-server or postgres
    postgres: bool
    what: str
    outbound: int = 1
    restart_after: float = 1.0  # as `as2bus up`'s first backoff step
    mid_send: bool = False  # kill an outbound replica while it has a POST in flight
    mdn: str = "sync"  # or "async": the partner's MDN comes later, in a POST of its own
    #: How the fault is made: "kill" (SIGKILL, then start again after ``restart_after``),
    #: "stop" (SIGTERM, down for ``restart_after``, then started again), "pause" (the proxy
    #: between outbound-svc and the partner moves no byte for ``restart_after``) or "none"
    #: (the fault is in the set-up: ``mdn_sink``).
    how: str = "kill"
    env: tuple[tuple[str, str], ...] = ()  # the services' environment for this scenario
    proxy: bool = False  # the partner's URL through a ``PausableProxy``
    mdn_sink: bool = False  # the partner's async MDNs to an ``MdnSink``: they never come back
    #: The MessageFailed code every request is expected to end with (None: delivered).
    expect_failed: str | None = None
    load: Load | None = None  # the load, if not the usual one


@dataclass(frozen=True)
class Load:
    """Requests at ``rate`` for ``seconds`` at least, and on until ``after_fault`` seconds
    after the fault ended (the killed process back and ready, the pause over): requests keep
    coming for the whole fault and for a while after it, however long it took."""

    rate: float = 5.0  # send requests per second
    seconds: float = 16.0
    fault_at: float = 6.0  # seconds into the load
    #: After the last request is published (and the fault is over): a request with no final
    #: outcome by then is stuck. 90 s is twice the longest a healthy request may take here:
    #: the stack's retries (backoff 1 s doubling, 6 attempts: 31 s) after the lease (10 s);
    #: the fault scenarios' policies cap a retry's wait at 30 s. (It was 150 s: every
    #: failing scenario waited 4 minutes, settle and tracklog check, most of a long run.)
    settle_timeout: float = 90.0
    size: int = 2048
    after_fault: float = 5.0

    def over(self, published: int, due: float, fault_ended: float | None) -> bool:
        """No more requests: ``published`` is enough, and the next one, ``due`` then, would
        come over ``after_fault`` s after the fault ended (None: it has not)."""
        if published < self.rate * self.seconds or fault_ended is None:
            return False
        return due > fault_ended + self.after_fault


PARTNER_DOWN_S, PAUSE_S, MDN_DEADLINE_S = 120.0, 30.0, 15.0
# Outlasts the outage (120 s, and the partner's start): retries 5, 10, 20, 30, 30 ... s after
# each failed attempt, the 7th attempt comes 125 s after the first, the 12th 275 s after it.
PARTNER_DOWN = (("AS2BUS_OUTBOUND_BACKOFF_SECONDS", "5"),
                ("AS2BUS_OUTBOUND_BACKOFF_MAX_SECONDS", "30"),
                ("AS2BUS_OUTBOUND_MAX_ATTEMPTS", "12"))  # fmt: skip
# An attempt stalled by the pause times out after 8 s; retries 2, 4, 8, 10 ... s later.
PAUSE = (("AS2BUS_OUTBOUND_HTTP_TIMEOUT_SECONDS", "8"),
         ("AS2BUS_OUTBOUND_BACKOFF_SECONDS", "2"),
         ("AS2BUS_OUTBOUND_BACKOFF_MAX_SECONDS", "10"),
         ("AS2BUS_OUTBOUND_MAX_ATTEMPTS", "10"))  # fmt: skip
MDN_NEVER = (("AS2BUS_OUTBOUND_ASYNC_MDN_DEADLINE_SECONDS", str(MDN_DEADLINE_S)),
             ("AS2BUS_OUTBOUND_ASYNC_MDN_RESEND", "false"))  # fmt: skip


def _policy(env: tuple[tuple[str, str], ...]) -> str:
    """The sending policy of a scenario's environment, as the table says it."""
    short = {"AS2BUS_OUTBOUND_BACKOFF_SECONDS": "backoff {} s",
             "AS2BUS_OUTBOUND_BACKOFF_MAX_SECONDS": "doubling up to {} s",
             "AS2BUS_OUTBOUND_MAX_ATTEMPTS": "{} attempts",
             "AS2BUS_OUTBOUND_HTTP_TIMEOUT_SECONDS": "HTTP timeout {} s"}  # fmt: skip
    return ", ".join(short[k].format(v) for k, v in env if k in short)


def _beyond_kills(database: str, postgres: bool) -> list[Scenario]:
    """The faults beyond kills, on one database: on PostgreSQL the retries, the deadlines and
    the duplicate detection they lean on are SQL of their own (row locks, leases, the ledger)."""
    return [
        Scenario(f"partner-down-{database}", "inbound-svc-0", postgres,
                 f"the partner (inbound-svc) stopped (SIGTERM) for {PARTNER_DOWN_S:g} s, then "
                 "started again; requests keep coming (1/s) through the outage and 5 s after "
                 f"it; outbound {_policy(PARTNER_DOWN)}",
                 how="stop", restart_after=PARTNER_DOWN_S, env=PARTNER_DOWN,
                 load=Load(rate=1, seconds=16, fault_at=6)),
        Scenario(f"network-pause-{database}", "partner-proxy", postgres,
                 f"the network between outbound-svc and the partner paused for {PAUSE_S:g} s (a "
                 "proxy moves no byte either way, connections stay open, new ones wait), "
                 f"requests (5/s) through it and 5 s after it; outbound {_policy(PAUSE)}",
                 how="pause", restart_after=PAUSE_S, env=PAUSE, proxy=True),
        Scenario(f"async-mdn-never-{database}", NO_FAULT, postgres,
                 "async MDNs that never come (the partner's go to a sink that answers 200 and "
                 f"keeps nothing); async-MDN deadline {MDN_DEADLINE_S:g} s, no resend: "
                 "expected, every request failed `mdn-deadline`", how="none", mdn="async",
                 mdn_sink=True,
                 env=MDN_NEVER, expect_failed="mdn-deadline"),
    ]  # fmt: skip


SCENARIOS = [
    Scenario("outbound-sqlite", "outbound-svc-0", False,
             "outbound-svc SIGKILLed while sending, restarted after 1 s", mid_send=True),
    Scenario("outbound-postgres", "outbound-svc-0", True,
             "1 of 2 outbound-svc replicas SIGKILLed while sending, restarted after the lease "
             f"({LEASE_SECONDS} s): the other takes over", outbound=2,
             restart_after=LEASE_SECONDS + 5, mid_send=True),
    Scenario("nats-sqlite", NATS, False, "nats-server SIGKILLed, restarted after 1 s"),
    Scenario("nats-postgres", NATS, True, "nats-server SIGKILLed, restarted after 1 s"),
    Scenario("inbound-sqlite", "inbound-svc-0", False,
             "inbound-svc (the partner) SIGKILLed, restarted after 1 s"),
    Scenario("inbound-postgres", "inbound-svc-0", True,
             "inbound-svc (the partner) SIGKILLed, restarted after 1 s"),
    Scenario("postgres", POSTGRES, True, "the PostgreSQL server SIGKILLed, restarted after 1 s"),
    Scenario("tracklog-sqlite", "tracklog-svc", False,
             "tracklog-svc SIGKILLed, restarted after 1 s"),
    Scenario("tracklog-postgres", "tracklog-svc", True,
             "tracklog-svc SIGKILLed, restarted after 1 s"),
    Scenario("config-sqlite", "config-svc", False, "config-svc SIGKILLed, restarted after 1 s"),
    Scenario("cert-sqlite", "cert-svc", False, "cert-svc SIGKILLed, restarted after 1 s"),
    Scenario("config-postgres", "config-svc", True, "config-svc SIGKILLed, restarted after 1 s"),
    Scenario("cert-postgres", "cert-svc", True, "cert-svc SIGKILLed, restarted after 1 s"),
    Scenario("inbound-async-sqlite", "inbound-svc-0", False,
             "async MDNs: inbound-svc (the partner, and the receiver of its MDNs) SIGKILLed, "
             "restarted after 1 s", mdn="async"),
    Scenario("outbound-async-sqlite", "outbound-svc-0", False,
             "async MDNs: outbound-svc SIGKILLed while sending, restarted after 1 s",
             mid_send=True, mdn="async"),
    Scenario("async-baseline-sqlite", NO_FAULT, False,
             "async MDNs, nothing killed (the baseline)", mdn="async"),
    *_beyond_kills("sqlite", False),
    *_beyond_kills("postgres", True),
]  # fmt: skip
BY_KEY = {s.key: s for s in SCENARIOS}


def fate_of(
    got: int, said: list[str], codes: set[str | None], queued: bool, expect_failed: str | None
) -> str:
    """One request's fate: the partner ``got`` its message so many times, the bus ``said``
    these final outcomes (their failure ``codes``), it was ``queued`` or not."""
    if got > 1:
        return "twice"
    if not said:
        return "stuck" if queued else "lost"  # lost: not even queued
    if expect_failed and set(said) == {"MessageFailed"} and got == 1 and codes == {expect_failed}:
        return "failed_as_expected"
    if set(said) != {"MessageDelivered"}:
        return "failed"
    return "once" if got else "lost"  # lost: said delivered, never arrived
