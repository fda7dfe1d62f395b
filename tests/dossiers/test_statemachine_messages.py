"""Refusals of the dossier state machine read as sentences, in Vietnamese and English."""

from __future__ import annotations

import pytest

from chudong.dossiers.statemachine import IllegalTransition, next_status


def test_confirming_a_notice_says_it_is_a_notice():
    with pytest.raises(IllegalTransition) as exc:
        next_status("notice", "offered", "confirmed")
    assert exc.value.message == ("Hồ sơ này là thông báo, không cần xác nhận hay xử lý / "
                                 "This is a notice; nothing to confirm or process")


def test_a_step_not_allowed_now_names_the_status_and_the_possible_steps_in_words():
    with pytest.raises(IllegalTransition) as exc:
        next_status("dossier", "offered", "approved")
    msg = exc.value.message
    assert msg.startswith("Không thể phê duyệt: hồ sơ đã gửi đề nghị (có thể: xác nhận, từ chối đề nghị")
    assert "Cannot approve it: the dossier is offered (allowed now: confirm it, decline it, let it expire)" in msg
    assert "_" not in msg and "cannot approved" not in msg


def test_a_closed_dossier_has_no_further_step():
    with pytest.raises(IllegalTransition, match="không còn bước nào.*no further step is possible"):
        next_status("dossier", "closed", "approved")
