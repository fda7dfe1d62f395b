"""E-mail over SMTP against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from chudong.adapters.email.base import EmailMessage
from chudong.adapters.email.smtp import SmtpEmail
from chudong.notifications.simulators import free_port


class Handler:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook
        if address.startswith("perm-fail@"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("temp-fail@"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted"


@pytest.fixture
def smtp():
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_sends_vietnamese_mail_with_message_id_from_key(smtp):
    controller, handler = smtp
    sender = SmtpEmail("127.0.0.1", controller.port, "thongbao@danang.example")
    results = sender.send_batch([EmailMessage("lan@example.vn", "Hồ sơ đã được khởi tạo", "Kính gửi chị Lan,\nXác nhận tại …",
                                              "cd-7-email")])
    assert results[0].outcome == "accepted"
    msg = handler.messages[0]
    assert msg["Subject"] == "Hồ sơ đã được khởi tạo"
    assert msg["Message-ID"] == "<cd-7-email@danang.example>"
    assert "Kính gửi chị Lan" in msg.get_content()


def test_refusals_map_to_permanent_and_temporary(smtp):
    controller, handler = smtp
    sender = SmtpEmail("127.0.0.1", controller.port, "thongbao@danang.example")
    perm, temp, ok = sender.send_batch([
        EmailMessage("perm-fail@example.vn", "s", "b", "k1"),
        EmailMessage("temp-fail@example.vn", "s", "b", "k2"),
        EmailMessage("ok@example.vn", "s", "b", "k3"),
    ])
    assert (perm.outcome, perm.error_code) == ("permanent", "smtp_550")
    assert (temp.outcome, temp.error_code) == ("temporary", "smtp_451")
    assert ok.outcome == "accepted" and len(handler.messages) == 1


def test_server_down_is_temporary():
    r = SmtpEmail("127.0.0.1", free_port(), "a@b.example", timeout=2).send_batch([EmailMessage("x@y.vn", "s", "b", "k")])[0]
    assert (r.outcome, r.error_code) == ("temporary", "smtp_connect")
