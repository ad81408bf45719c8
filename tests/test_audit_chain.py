"""The audit trail: events appended without a lock, sealed into a hash chain after each
request, keyed with a key the database does not hold; `audit verify` catches a database
administrator who rewrites history, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from conftest import BACKENDS
from webclient import Browser

from portal.config import Config
from portal.core.db import db
from portal.modules.audit import trail
from portal.modules.audit.models import AuditCheckpoint, AuditEvent, AuditHead


def _events(n: int) -> None:
    """n events, as operations write them (outside a request: left unsealed)."""
    with db.atomic():
        for i in range(n):
            trail.record(None, "test.event", None, number=i, note=f"event {i}")


def _rewrite_from(seq: int, data: dict, keep_mac: bool) -> None:
    """What a DBA can do without the key: change one event, recompute its hash and every
    later one (the hash has no key), and point the head at the new end."""
    with db.atomic():
        target = AuditEvent.get(AuditEvent.seq == seq)
        AuditEvent.update(data=data, mac=target.mac if keep_mac else None).where(
            AuditEvent.id == target.id).execute()
        prev = target.prev_hash
        last = seq
        for event in AuditEvent.select().where(AuditEvent.seq >= seq).order_by(AuditEvent.seq):
            digest = trail.event_hash(event.seq, event.at, event.actor_id, event.action,
                                      event.object_type, event.object_id, event.data, prev)
            AuditEvent.update(prev_hash=prev, hash=digest).where(
                AuditEvent.id == event.id).execute()
            prev, last = digest, event.seq
        for checkpoint in AuditCheckpoint.select().where(AuditCheckpoint.seq >= seq):
            # The checkpoints' hashes too; their MACs cannot be recomputed.
            event = AuditEvent.get(AuditEvent.seq == checkpoint.seq)
            AuditCheckpoint.update(hash=event.hash).where(
                AuditCheckpoint.id == checkpoint.id).execute()
        AuditHead.update(seq=last, hash=prev).where(AuditHead.id == 1).execute()


def test_events_wait_for_sealing_and_verify_reports_them_pending(app, runner):
    _events(3)
    assert AuditEvent.select().where(AuditEvent.seq.is_null()).count() == 3
    report = trail.verify_chain()
    assert report.ok and report.pending == 3 and report.events == 0
    result = runner.invoke(args=["audit", "verify", "--no-seal"])
    assert result.exit_code == 0, result.output
    assert "3 pending" in result.output
    result = runner.invoke(args=["audit", "seal"])
    assert result.exit_code == 0 and "sealed 3 events" in result.output
    assert [e.seq for e in AuditEvent.select().order_by(AuditEvent.id)] == [1, 2, 3]
    head = AuditHead.get_by_id(1)
    assert head.seq == 3 and head.mac == trail.head_mac(b"test-audit-key", 3, head.hash)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 3 events sealed" in result.output


def test_a_request_seals_its_own_events_after_it_commits(app, demo, storage, client):
    from portal.modules.demo.data import walk

    application, _ = walk("rekom-nakes", storage)
    letter = application.letters[0]
    trail.seal(wait=True)
    before = AuditHead.get_by_id(1).seq
    assert client.get(f"/v/{letter.token}").status_code == 200
    event = AuditEvent.select().order_by(AuditEvent.id.desc()).first()
    assert event.action == "letter.viewed_public"
    assert event.seq == before + 1  # sealed by the request itself, after its commit
    assert trail.verify_chain().ok and trail.verify_chain().pending == 0


@pytest.mark.parametrize("keep_mac", [True, False], ids=["row-mac-kept", "row-mac-dropped"])
def test_a_dba_who_rewrites_event_500_and_every_later_hash_gets_tampered(app, runner,
                                                                       keep_mac):
    _events(620)
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    _rewrite_from(500, {"number": 499, "note": "rewritten"}, keep_mac)
    result = runner.invoke(args=["audit", "verify", "--no-seal"])
    assert result.exit_code == 1
    assert "tampered" in result.output
    if keep_mac:
        assert "BROKEN at event 500" in result.output
    else:  # only the keyed head can tell: somewhere in 1..620
        assert "the chain's head does not carry the audit key" in result.output


def test_keyed_checkpoints_narrow_down_where_history_was_rewritten(app, runner, monkeypatch):
    monkeypatch.setattr(trail, "CHECKPOINT_EVERY", 100)
    _events(620)
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    assert [c.seq for c in AuditCheckpoint.select().order_by(AuditCheckpoint.seq)] == [
        100, 200, 300, 400, 500, 600]
    _rewrite_from(450, {"number": 449, "note": "rewritten"}, keep_mac=False)
    report = trail.verify_chain()
    assert report.tampered and report.broken_at == 401
    assert "events 401 to 500 were rewritten" in report.reason


def test_sealing_never_blesses_a_rewritten_chain(app, runner):
    _events(30)
    assert runner.invoke(args=["audit", "seal"]).exit_code == 0
    _rewrite_from(10, {"forged": True}, keep_mac=False)
    _events(2)
    result = runner.invoke(args=["audit", "seal"])
    assert result.exit_code == 1 and "was rewritten or the key changed" in result.output
    assert AuditEvent.select().where(AuditEvent.seq.is_null()).count() == 2
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_deleted_edited_and_inserted_events_are_caught(app, runner):
    _events(12)
    trail.seal(wait=True)
    AuditEvent.delete().where(AuditEvent.seq == 5).execute()
    result = runner.invoke(args=["audit", "verify", "--no-seal"])
    assert result.exit_code == 1 and "BROKEN at event 5" in result.output
    assert "event 5 is missing" in result.output


def test_an_unsealed_event_added_or_changed_outside_the_portal_is_caught(app, runner):
    _events(2)
    event = AuditEvent.select().order_by(AuditEvent.id).first()
    AuditEvent.update(data={"number": 7}).where(AuditEvent.id == event.id).execute()
    result = runner.invoke(args=["audit", "verify", "--no-seal"])
    assert result.exit_code == 1 and f"unsealed event id {event.id}" in result.output
    assert "TAMPERED" in result.output
    # Sealing stops before it: the forged row never enters the chain.
    assert trail.seal(wait=True).refused

    AuditEvent.delete().where(AuditEvent.id == event.id).execute()
    forged = AuditEvent.create(action="letter.verified", data={}, mac="0" * 64, nonce="x" * 32)
    report = trail.verify_chain()
    assert report.pending_broken == forged.id


def test_verify_seals_what_is_committed_then_checks_it(app, runner):
    _events(4)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 4 events sealed" in result.output
    assert not AuditEvent.select().where(AuditEvent.seq.is_null()).exists()


def test_the_audit_key_lives_in_the_instance_folder_not_the_database(tmp_path):
    config = Config.from_environ({"PORTAL_SECRET_KEY": "s"}, tmp_path)
    key_file = tmp_path / "audit_key"
    assert key_file.read_text().strip() == config.audit_key and len(config.audit_key) == 64
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert Config.from_environ({"PORTAL_SECRET_KEY": "s"}, tmp_path).audit_key == config.audit_key
    given = Config.from_environ({"PORTAL_SECRET_KEY": "s", "PORTAL_AUDIT_KEY": "k" * 40},
                                tmp_path / "other")
    assert given.audit_key == "k" * 40 and not (tmp_path / "other" / "audit_key").exists()


def test_another_key_does_not_verify_the_chain(app, runner):
    _events(5)
    trail.seal(wait=True)
    config = app.extensions["portal.config"]
    object.__setattr__(config, "audit_key", "a-different-key")
    try:
        result = runner.invoke(args=["audit", "verify", "--no-seal"])
    finally:
        object.__setattr__(config, "audit_key", "test-audit-key")
    assert result.exit_code == 1 and "tampered" in result.output
    # A lost or mistyped key is told apart from one rewritten record: nothing carries it.
    assert "no keyed record carries this audit key" in result.output
    assert "restore instance/audit_key" in result.output

POSTGRESQL = BACKENDS[1]


# Row locks are PostgreSQL's (SQLite has one writer at a time): PostgreSQL only.
@pytest.mark.parametrize("database_url", [POSTGRESQL], indirect=True)
def test_a_request_does_not_wait_for_a_sealer_holding_the_head(app, database_url,
                                                               make_applicant):
    """While another process seals (holding the head row), a request records and answers;
    its event stays pending and the next seal links it."""
    _events(1)
    holding, release, done = threading.Event(), threading.Event(), threading.Event()

    def sealer():
        try:
            with app.app_context(), db.atomic():
                AuditHead.select().where(AuditHead.id == 1).for_update().get()
                holding.set()
                release.wait(60)
        finally:
            db.close()
            done.set()

    thread = threading.Thread(target=sealer)
    thread.start()
    assert holding.wait(30)
    try:
        user = make_applicant()
        Browser(app).login(user.email, "x" * 12)  # audited: account.login
        assert not done.is_set()  # the head is still held while the request finished
        login = AuditEvent.get(AuditEvent.action == "account.login")
        assert login.seq is None  # pending: the busy sealer was skipped, not waited for
    finally:
        release.set()
        thread.join(30)
    trail.seal(wait=True)
    report = trail.verify_chain()
    assert report.ok and report.pending == 0
