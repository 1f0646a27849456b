"""The delay before a failed message comes again: growing, bounded."""

from as2bus.shared.bus.redelivery import MAX_DELAY_SECONDS, delay_for


def test_the_delay_doubles_from_half_a_second_up_to_its_ceiling() -> None:
    assert [delay_for(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert delay_for(10_000) == MAX_DELAY_SECONDS
    assert delay_for(0) == 0.5  # a server that says nothing of the count: the first delivery
