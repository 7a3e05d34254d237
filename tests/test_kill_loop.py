"""Nothing lost, nothing doubled: a real `doingoai run` killed with SIGKILL again and again
while people fill forms over the fake Telegram, in polling and in webhook mode
(tests/kill_loop.py; benchmarks/killloop.py runs a longer one)."""

from __future__ import annotations

import pytest

from tests.kill_loop import run, wave


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_killed_ten_times_loses_and_doubles_nothing(tmp_path, mode):
    outcome = await run(tmp_path, mode, users=6, records=2, kills=10)
    print(outcome.line(mode))
    assert outcome.kills == 10
    assert outcome.records == 12  # every person saved every record, once
    assert outcome.lost == 0  # every update Telegram delivered was processed
    assert outcome.unconfirmed == 0  # every saved record's "Đã lưu" reached its person
    assert outcome.duplicates == 0
    assert outcome.shifted == 0, outcome.shifted_values  # no answer in another field
    # A confirmation twice only when a kill fell between Telegram taking it and the mark.
    assert outcome.messages_doubled <= outcome.kills


async def test_a_wave_killed_three_times_reminds_everyone_and_counts_them_all(tmp_path):
    outcome = await wave(tmp_path, members=300, kills=3)
    print(outcome.line())
    assert outcome.missed == 0
    # Twice only for a kill between Telegram taking a reminder and its mark: at most the
    # sends in flight (DOINGOAI_OUTBOX_CONCURRENCY) per kill.
    assert outcome.doubled <= 3 * 16
    assert outcome.summaries == 1
    assert outcome.summary_count == 300  # the whole slot, whichever process sent what
