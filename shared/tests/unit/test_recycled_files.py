"""The pool of temporary files written over instead of made anew: a file closed by its user
is lent again (the same file, with its pages), within the pool's limits; the rest are closed."""

from __future__ import annotations

import concurrent.futures
import os

import pytest

from as2bus.shared.recycled_files import RecycledFiles


def inode(file: object) -> int:
    return os.fstat(file.fileno()).st_ino  # type: ignore[attr-defined]


def test_a_file_given_back_is_lent_again_from_its_start() -> None:
    pool = RecycledFiles(max_bytes=1 << 20)
    first = pool.take()
    first.write(b"x" * 1000)
    number = inode(first)
    assert pool.kept_files == 0  # lent, not kept
    first.close()
    assert (pool.kept_files, pool.kept_bytes) == (1, 1000)
    again = pool.take()
    assert inode(again) == number
    assert again.tell() == 0
    assert pool.kept_files == 0
    # Written over and cut where the new user ends: nothing of the earlier user's is left.
    again.write(b"new")
    again.truncate()
    again.seek(0)
    assert again.read() == b"new"
    again.close()
    assert pool.kept_bytes == 3
    pool.close()


def test_the_largest_kept_file_is_lent_first() -> None:
    """A message's files come in the order body, DER, plaintext, document, each no larger than
    the one before: lent largest first, each is written over as far as the last one went."""
    pool = RecycledFiles(max_bytes=1 << 20)
    lent = [pool.take() for _ in range(3)]
    for file, size in zip(lent, (300, 900, 600), strict=True):
        file.write(b"x" * size)
    numbers = [inode(file) for file in lent]
    for file in lent:
        file.close()
    again = [pool.take() for _ in range(3)]
    assert [inode(file) for file in again] == [numbers[1], numbers[2], numbers[0]]  # 900, 600, 300
    for file in again:
        file.close()
    pool.close()


def test_an_empty_pool_makes_a_new_file() -> None:
    pool = RecycledFiles()
    one, two = pool.take(), pool.take()
    assert inode(one) != inode(two)
    one.write(b"1")
    two.write(b"2")
    one.close()
    two.close()
    assert pool.kept_files == 2
    pool.close()
    assert pool.kept_files == 0


def test_a_file_that_would_pass_the_byte_limit_is_closed_not_kept() -> None:
    pool = RecycledFiles(max_bytes=1500)
    small, large = pool.take(), pool.take()
    small.write(b"s" * 1000)
    large.write(b"l" * 1000)
    small.close()
    large.close()  # 2000 together: over the limit
    assert (pool.kept_files, pool.kept_bytes) == (1, 1000)
    pool.close()


def test_no_more_files_are_kept_than_the_limit() -> None:
    pool = RecycledFiles(max_files=2)
    lent = [pool.take() for _ in range(4)]
    for file in lent:
        file.write(b"data")
        file.close()
    assert pool.kept_files == 2
    pool.close()


def test_a_limit_of_zero_bytes_keeps_no_file_that_was_written() -> None:
    pool = RecycledFiles(max_bytes=0)
    file = pool.take()
    file.write(b"data")
    file.close()
    assert pool.kept_files == 0


def test_a_file_its_user_forgot_to_close_comes_back_when_collected() -> None:
    pool = RecycledFiles()
    file = pool.take()
    file.write(b"abc")
    file.flush()
    with pytest.warns(ResourceWarning):  # as Python says of any file left unclosed
        del file  # the last reference: collected here
    assert (pool.kept_files, pool.kept_bytes) == (1, 3)
    pool.close()


def test_a_file_given_back_empty_is_closed_not_kept() -> None:
    """Emptied by its user (what it held is to be freed), or never written: no pages to lend."""
    pool = RecycledFiles()
    written, emptied, unused = pool.take(), pool.take(), pool.take()
    written.write(b"kept")
    emptied.write(b"x" * 10_000)
    emptied.truncate(0)
    for file in (written, emptied, unused):
        file.close()
    assert (pool.kept_files, pool.kept_bytes) == (1, 4)
    pool.close()


def test_closing_twice_gives_the_file_back_once() -> None:
    pool = RecycledFiles()
    file = pool.take()
    file.write(b"once")
    file.close()
    file.close()
    assert pool.kept_files == 1
    pool.close()


def test_threads_never_share_a_lent_file() -> None:
    pool = RecycledFiles(max_bytes=64 << 20)

    def use(n: int) -> bool:
        file = pool.take()
        mine = str(n).encode() * 1000
        file.write(mine)
        file.truncate()
        file.seek(0)
        ok = file.read() == mine
        file.close()
        return ok

    with concurrent.futures.ThreadPoolExecutor(8) as threads:
        assert all(threads.map(use, range(400)))
    assert 1 <= pool.kept_files <= 8
    pool.close()
