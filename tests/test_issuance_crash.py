"""A crash at any point of issuance leaves no signed PDF in storage without its letter
record. The issuance runs in a child process (a demo walk of rekom-nakes) that kills itself
with SIGKILL at one point: while signing, right after the signed PDF is written (staged),
just before the commit, after the commit but before the PDF is promoted to its key, and
right after the promotion. Then the sweep runs, and storage is compared with the records;
the next letter, which takes the number the dead transaction had, is the only file that
carries it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pypdfium2
import pytest

from portal.modules.backup.files import referenced_keys
from portal.modules.demo.data import walk
from portal.modules.letters.models import Letter

ROOT = Path(__file__).resolve().parents[1]

# The child: the same app as the test's, with one step of issuance replaced by itself
# followed by SIGKILL (or SIGKILL before it). Nothing in the product knows of this.
CHILD = r"""
import json, os, signal, sys
point, config = sys.argv[1], json.loads(sys.argv[2])
from portal import create_app
from portal.modules.letters import keys
from portal.storage.base import Storage
from portal.modules.demo.data import walk
from portal.storage import current_storage

def die():
    os.kill(os.getpid(), signal.SIGKILL)

app = create_app(config)
database = app.extensions["database"]
staged = []
if point == "signing":
    keys.signer_identity = lambda *a, **k: die()  # as the signature is being made
original_stage, original_promote = Storage.stage, Storage.promote
def stage(self, data):
    result = original_stage(self, data)
    staged.append(result)
    if point == "staged":
        die()
    return result
def promote(self, item):
    if point == "after-commit":
        die()
    original_promote(self, item)
    if point == "after-promote":
        die()
Storage.stage, Storage.promote = stage, promote
original_commit = database.commit
def commit():
    if point == "before-commit" and staged:
        die()
    return original_commit()
database.commit = commit
with app.app_context():
    walk("rekom-nakes", current_storage())
print("the walk finished: no crash point was reached")
sys.exit(3)
"""

POINTS = ["signing", "staged", "before-commit", "after-commit", "after-promote"]


def _crash(app, point: str) -> None:
    config = app.extensions["portal.config"]
    overrides = {"TESTING": True, "DATABASE_URL": config.database_url,
                 "STORAGE_DIR": config.storage_dir, "STORAGE_URL": config.storage_url,
                 "SIGNING_CA_DIR": config.signing_ca_dir, "BASE_URL": config.base_url,
                 "SECRET_KEY": config.secret_key, "MAIL_SERVER": "",
                 "OUTBOX_DELIVER_AFTER_REQUEST": False,
                 "AUDIT_KEY": getattr(config, "audit_key", "")}
    result = subprocess.run([sys.executable, "-c", CHILD, point, json.dumps(overrides)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stdout,
                                                  result.stderr[-3000:])


def _texts(data: bytes) -> str:
    if not data.startswith(b"%PDF"):
        return ""
    document = pypdfium2.PdfDocument(io.BytesIO(data))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_during_issuance_leaves_no_signed_pdf_without_its_record(app, demo, storage,
                                                                        runner, point):
    _crash(app, point)
    committed = point in ("after-commit", "after-promote")
    letters = list(Letter.select())
    assert len(letters) == (1 if committed else 0)
    if point == "staged" or point == "before-commit":
        assert list(storage.staged()), "the signed PDF was written under its staging name"
    if point == "after-commit":
        assert not storage.exists(letters[0].storage_key)  # committed, not yet promoted

    # The sweep leaves young staging files alone (an issuance may be under way): the crash
    # happened an hour ago.
    an_hour_ago = time.time() - 3600
    for path in (storage.root / "staging").glob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    assert runner.invoke(args=["storage", "sweep", "--stale-minutes", "0"]).exit_code == 2
    swept = runner.invoke(args=["storage", "sweep"])
    assert swept.exit_code == 0, swept.output

    assert list(storage.staged()) == []
    stored = set(storage.keys())
    assert stored <= referenced_keys(), "a stored file that no record names"
    for letter in letters:  # a committed letter's file is there, whole
        assert hashlib.sha256(storage.read(letter.storage_key)).hexdigest() == letter.sha256

    # The next letter: the crashed one's number when it never committed, the next otherwise.
    application, _path = walk("rekom-nakes", storage)
    new = Letter.get(Letter.application == application)
    first_number = letters[0].number if committed else new.number
    assert (new.seq == 2) if committed else (new.seq == 1)
    carriers = [key for key in storage.keys() if first_number in _texts(storage.read(key))]
    owners = [letter.storage_key for letter in Letter.select()
              if letter.number == first_number]
    assert carriers == owners, "the number is carried by a file of no letter"
    assert set(storage.keys()) <= referenced_keys()
