"""The bus logger drops faststream's traceback for an idle fetch (and its restart chatter),
nothing else."""

import logging

import pytest

from as2bus.shared.bus.connection import BUS_LOGGER

RETRYING = "Task-23 raised an exception, retrying..."


def test_an_idle_fetchs_timeout_is_not_logged_but_other_failures_are(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger=BUS_LOGGER.name):
        BUS_LOGGER.error(RETRYING, exc_info=TimeoutError())
        BUS_LOGGER.info("callback for Task-23 is being executed...")
        BUS_LOGGER.error(RETRYING, exc_info=ConnectionResetError("peer gone"))
        BUS_LOGGER.error("something else", exc_info=TimeoutError())
    logged = [(r.getMessage(), type(r.exc_info[1]).__name__) for r in caplog.records]  # type: ignore[index]
    assert logged == [(RETRYING, "ConnectionResetError"), ("something else", "TimeoutError")]
