"""An SMTP server that accepts the connection and then says nothing must not hold the sender:
the attempt times out (PORTAL_MAIL_TIMEOUT), the message stays queued for a retry."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from portal.mail.models import OutboxMessage
from portal.mail.transport import deliver
from portal.modules.demo.data import walk


@pytest.fixture
def silent_server():
    """A TCP server on loopback that accepts connections and never answers (no greeting)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    listener.close()


@pytest.fixture
def app_config(silent_server):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": silent_server, "MAIL_TIMEOUT": 1}


def test_a_silent_smtp_server_times_out_once_and_the_messages_wait(demo, storage):
    walk("info-kompetensi-teknis", storage)
    queued = OutboxMessage.select().count()
    assert queued > 3
    started = time.monotonic()
    report = deliver(limit=50)
    # one timeout ends the round: not one per message (a web worker delivers after requests)
    assert time.monotonic() - started < 5
    assert report.sent == 0 and report.retried == 1
    failed = OutboxMessage.get(OutboxMessage.attempts == 1)
    assert failed.status == "pending" and "timed out" in failed.last_error.lower()
    assert OutboxMessage.select().where(OutboxMessage.status == "pending").count() == queued
    assert OutboxMessage.select().where(OutboxMessage.attempts == 0).count() == queued - 1
