"""The 837P batch refuses the moves its life cycle does not allow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from claims.domain.batch import BatchStatus, IllegalBatchTransition, SubmissionBatch

AT = datetime(2026, 12, 2, 12, tzinfo=UTC)


def test_a_batch_is_sent_then_accepted_by_its_999() -> None:
    batch = SubmissionBatch("b-1")
    batch.send_failed("sftp connect failed")
    batch.sent(AT)
    batch.accept()
    assert (batch.status, batch.attempts, batch.last_error, batch.submitted_at) == (BatchStatus.ACCEPTED, 2, None, AT)


def test_settled_batches_refuse_to_move_again() -> None:
    accepted = SubmissionBatch("b-1", BatchStatus.ACCEPTED)
    with pytest.raises(IllegalBatchTransition):
        accepted.reject()  # a late TA1 never undoes what the 999 settled
    refused = SubmissionBatch("b-2")
    refused.refused("HTTP 413")
    with pytest.raises(IllegalBatchTransition):
        refused.sent(AT)
    queued = SubmissionBatch("b-3")
    with pytest.raises(IllegalBatchTransition):
        queued.accept()  # a 999 for a file never sent


def test_a_ta1_rejection_is_noted_and_rejects_an_open_batch() -> None:
    batch = SubmissionBatch("b-1", BatchStatus.SUBMITTED)
    batch.note_interchange("R", "024")
    assert batch.open
    batch.reject("TA1 024: invalid interchange content")
    assert (batch.status, batch.interchange_ack, batch.interchange_note) == (BatchStatus.REJECTED, "R", "024")
    assert not batch.open
