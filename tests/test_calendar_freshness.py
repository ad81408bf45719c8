"""Due times are stored from the agency's calendar as it is in the database now: a day off
added by another process (another gunicorn worker, the CLI) is honoured by the very next
task any process opens, with no cache to wait out."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

from portal.core.model import utcnow
from portal.modules.accounts.models import User
from portal.modules.agencies.models import Agency
from portal.modules.applications import operations
from portal.modules.applications.models import Task
from portal.modules.demo.data import DEMO_APPLICANT, sample_form, sample_uploads
from portal.modules.sops.models import SopVersion

ADD_DAY_OFF = textwrap.dedent("""
    import sys
    from portal import create_app
    from portal.modules.accounts.models import User
    from portal.modules.agencies import operations

    url, storage, day = sys.argv[1:4]
    app = create_app({"DATABASE_URL": url, "STORAGE_DIR": storage, "SECRET_KEY": "x"})
    with app.app_context():
        admin = User.by_email("admin@dinkes-bangka.absah.test")
        operations.add_day_off(admin, day, "Libur dari proses lain")
""")


def _submit(storage):
    spec = SopVersion.current("rekom-nakes").spec
    form = sample_form(spec, dt.date.today())
    return operations.submit_application(User.by_email(DEMO_APPLICANT), "rekom-nakes", form,
                                         sample_uploads(spec, spec.application_steps[0].key,
                                                        form), storage)


def test_a_day_off_added_in_another_process_moves_the_next_due_time(app, demo, storage,
                                                                    database_url, tmp_path):
    agency = Agency.get(Agency.code == "dinkes-bangka")
    first = Task.open_for(_submit(storage))  # this process has computed a due time
    step = SopVersion.current("rekom-nakes").spec.step(first.step_key)
    assert step.time is not None and first.due_at is not None
    before = agency.calendar()
    closed = before.local(before.due(utcnow(), step.time)).date()  # the deadline's day

    env = {**os.environ, "PORTAL_INSTANCE_DIR": str(tmp_path / "other")}
    done = subprocess.run([sys.executable, "-c", ADD_DAY_OFF, database_url, str(tmp_path),
                           closed.isoformat()], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr

    second = Task.open_for(_submit(storage))
    after = Agency.get_by_id(agency.id).calendar()
    assert closed in {d.day for d in agency.days_off}
    assert second.due_at == after.due(second.opened_at, step.time)
    assert second.due_at != before.due(second.opened_at, step.time)
    assert before.local(second.due_at).date() != closed
