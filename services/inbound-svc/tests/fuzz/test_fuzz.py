"""Fuzzing the AS2 endpoint, the short run (a few hundred cases, in ``make test``): requests
generated from a grammar of real ones (``grammar``, ``strategies``) thrown at the real
receive path, checked by ``oracle``: no 5xx, no exception escaping, a negative MDN or a
4xx with a readable reason for what is refused, memory bounded, and nothing on the bus or
in the store unless the message is one the partnership accepts.

Deterministic (``derandomize``): the same recipes on every run, so CI is stable. The big
run (``test_fuzz_big.py``, ``make fuzz``) draws 100,000 and more from the same strategies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import harness
from .grammar import Mdn, MdnShape, Message, Shape
from .harness import HeaderOps, HttpCase, MessageCase, Server, WireCase
from .strategies import (
    LAX_STACKS,
    VALID_STACKS,
    bombs,
    http_cases,
    mdn_cases,
    message_cases,
    wire_cases,
)

SHORT = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop:
        yield loop


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return harness.fuzz_app(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def server(app: FastAPI) -> Iterator[Server]:
    with harness.served(app) as served:
        yield served


def test_every_shape_of_the_grammar_is_delivered_unbroken(runner: asyncio.Runner) -> None:
    """The grammar's valid messages and MDNs are accepted as they are: a fuzzer whose seeds
    were refused would only ever test refusals."""
    for stack in VALID_STACKS:
        for mdn in ("sync-signed", "none", "async-signed"):
            outcome = runner.run(harness.message_case(Message(Shape(layers=stack, mdn=mdn))))
            assert outcome.kind == "delivered", (stack, mdn, outcome)
    for stack in LAX_STACKS:
        shape = Shape(partner="LAX", layers=stack, documents=(0, 1))
        outcome = runner.run(harness.message_case(Message(shape)))
        assert outcome.kind == "delivered", (stack, outcome)
    for signer, opaque in (("acme", False), ("acme", True), (None, False)):
        shape_ = MdnShape(signer=signer, opaque=opaque)  # type: ignore[arg-type]
        outcome = runner.run(harness.mdn_case(Mdn(shape_)))
        assert outcome.kind in ("reported-valid", "reported-unsigned"), (signer, outcome)


@settings(SHORT, max_examples=200)
@given(case=message_cases)
def test_fuzzed_messages(runner: asyncio.Runner, case: MessageCase) -> None:
    runner.run(harness.message_case(case))


@settings(SHORT, max_examples=6)
@given(message=bombs, spooled=st.booleans())
def test_compression_bombs_stop_at_the_payload_limit_in_bounded_memory(
    runner: asyncio.Runner, message: Message, spooled: bool
) -> None:
    case = harness.message_case(
        message, spooled=spooled, measure=True, max_payload_bytes=harness.BOMB_PAYLOAD
    )
    outcome = runner.run(case)
    assert outcome.kind != "delivered"


@settings(SHORT, max_examples=80)
@given(case=mdn_cases)
def test_fuzzed_mdns(runner: asyncio.Runner, case: tuple[Mdn, HeaderOps]) -> None:
    mdn, header_ops = case
    runner.run(harness.mdn_case(mdn, header_ops=header_ops))


@settings(SHORT, max_examples=60)
@given(case=http_cases)
def test_fuzzed_requests_through_the_http_endpoint(
    runner: asyncio.Runner, app: FastAPI, case: HttpCase
) -> None:
    runner.run(harness.http_case(app, case))


@settings(SHORT, max_examples=25)
@given(case=wire_cases)
def test_fuzzed_requests_on_the_wire(server: Server, case: WireCase) -> None:
    harness.wire_case(server, case)


def test_the_grammar_builds_what_it_says() -> None:
    """A recipe's description names its shape and mutations (what a failure prints)."""
    message = Message(Shape(), ())
    assert str(message).startswith("ACME docs=0 [sign[acme")
    assert message.expectation() == "same"
    assert Message(Shape(partner="LAX", layers=())).expectation() == "any"
