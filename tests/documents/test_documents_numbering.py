"""Number formats and per-workstation blocks (pure rules in clerk_app.domain.numbering)."""

from __future__ import annotations

import random
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clerk_app.domain.numbering import (
    BlocksExhausted,
    BlockState,
    NumberBlock,
    NumberFormat,
    NumberFormatError,
    draw,
    needs_refill,
    next_block_start,
    remaining,
    unexplained_gaps,
)

ACCEPT = NumberFormat("acceptance", "呼政受〔{year}〕{seq:05d}号")


def test_format_example() -> None:
    assert ACCEPT.format(2026, 123) == "呼政受〔2026〕00123号"
    assert ACCEPT.format(2026, 123456) == "呼政受〔2026〕123456号"


@given(year=st.integers(2000, 2099), seq=st.integers(1, 10**7))
def test_parse_inverts_format(year: int, seq: int) -> None:
    parsed = ACCEPT.parse(ACCEPT.format(year, seq))
    assert (parsed.year, parsed.seq) == (year, seq)


def test_month_and_plain_seq() -> None:
    fmt = NumberFormat("slip", "A{year}{month:02d}-{seq}")
    assert fmt.format(2026, 7, month=11) == "A202611-7"
    parsed = fmt.parse("A202611-7")
    assert (parsed.year, parsed.month, parsed.seq) == (2026, 11, 7)


@pytest.mark.parametrize("text", ["呼政受〔2026〕0123号", "呼政受〔26〕00123号", "呼政许〔2026〕00123号", ""])
def test_parse_refuses_other_numbers(text: str) -> None:
    with pytest.raises(NumberFormatError):
        ACCEPT.parse(text)


@pytest.mark.parametrize(
    "pattern", ["呼政受〔{year}〕号", "{seq}{seq}", "{seq}{window}", "{year}{year}{seq}"]
)
def test_bad_patterns(pattern: str) -> None:
    with pytest.raises(NumberFormatError):
        NumberFormat("x", pattern)


def test_draw_in_order_and_exhaust() -> None:
    states = [BlockState(NumberBlock("acceptance", 2026, 101, 103), 101)]
    drawn = []
    for _ in range(3):
        seq, new = draw(states, "acceptance", 2026)
        drawn.append(seq)
        states = [new]
    assert drawn == [101, 102, 103]
    with pytest.raises(BlocksExhausted):
        draw(states, "acceptance", 2026)
    with pytest.raises(BlocksExhausted):
        draw(states, "refusal", 2026)


def test_refill_threshold() -> None:
    states = [BlockState(NumberBlock("a", 2026, 1, 10), 8)]
    assert remaining(states, "a", 2026) == 3
    assert needs_refill(states, "a", 2026, threshold=3)
    assert not needs_refill(states, "a", 2026, threshold=2)


class Central:
    """Stand-in for the central store's block reservation: one lock, like one transaction."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.blocks: list[NumberBlock] = []

    def reserve(self, doc_type: str, year: int, size: int) -> NumberBlock:
        with self.lock:
            start = next_block_start(self.blocks, doc_type, year)
            block = NumberBlock(doc_type, year, start, start + size - 1)
            self.blocks.append(block)
            return block


def test_workstations_drawing_concurrently_never_collide() -> None:
    central = Central()
    used: list[int] = []
    voided: list[int] = []
    record = threading.Lock()

    def workstation(seed: int) -> None:
        rng = random.Random(seed)
        states: list[BlockState] = []
        online = True
        for _ in range(400):
            if rng.random() < 0.1:
                online = not online
            if online and needs_refill(states, "acceptance", 2026, threshold=3):
                block = central.reserve("acceptance", 2026, size=rng.randint(5, 20))
                states.append(BlockState(block, block.start))
            try:
                seq, new = draw(states, "acceptance", 2026)
            except BlocksExhausted:
                assert not online or not states
                continue
            states = [new if s.block == new.block else s for s in states]
            with record:
                (voided if rng.random() < 0.05 else used).append(seq)
        # end of the day: what is left of the blocks is voided, so the series has no silent gap
        leftovers = [n for s in states for n in range(s.next_seq, s.block.end + 1)]
        with record:
            voided.extend(leftovers)

    threads = [threading.Thread(target=workstation, args=(seed,)) for seed in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(used) == len(set(used))
    assert not set(used) & set(voided)
    top = max(b.end for b in central.blocks)
    assert unexplained_gaps(used, voided, top) == []
    for a in central.blocks:
        assert not any(a.overlaps(b) for b in central.blocks if b is not a)
