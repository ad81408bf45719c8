"""portal.prepared: a statement built once, run with new values, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.models import Agency, Assignment, Position, Task, User, db, kept, utcnow
from portal.prepared import Prepared


@pytest.fixture
def people(app):
    agency = Agency.create(code="dinkes-x", name="Dinkes X")
    first = User.create(email="a@x.test", name="A", password_hash="h1", agency=agency,
                        is_agency_admin=True, email_verified_at=utcnow())
    second = User.create(email="b@x.test", name="B", password_hash="h2", agency=agency)
    return agency, first, second


def test_a_statement_is_built_once_and_run_with_each_call_s_values(people):
    agency, first, second = people
    builds = []

    def build(ident):
        builds.append(ident)
        return User.select(User.email).where(User.id == ident).tuples()

    by_id = Prepared(db, build)
    assert by_id(first.id) == [("a@x.test",)]
    assert by_id(second.id) == [("b@x.test",)]
    assert by_id(10_000) == []
    assert len(builds) == 1  # the SQL text was built once for this database


def test_model_rows_equal_what_peewee_hydrates_and_are_clean(people):
    _agency, first, _second = people
    by_id = Prepared(db, lambda ident: User.select().where(User.id == ident))
    [user] = by_id(first.id)
    reference = User.get_by_id(first.id)
    assert user.__data__ == reference.__data__
    assert user.email_verified_at.tzinfo is not None  # UTC datetimes come back aware
    assert user.is_agency_admin is True  # booleans are booleans on SQLite too
    assert not user.is_dirty()
    user.name = "A2"
    user.save()  # only the changed column is written
    assert User.get_by_id(first.id).name == "A2"


def test_tuples_convert_dates_and_times_and_dates_work_as_parameters(people):
    agency, first, _second = people
    position = Position.create(agency=agency, key="kasi", title="Kasi")
    today = dt.date(2026, 11, 23)
    Assignment.create(user=first, position=position, capacity="plh",
                      starts_on=today, ends_on=today + dt.timedelta(days=2))
    held = Prepared(db, lambda user, on: (
        Assignment.select(Assignment.capacity, Assignment.starts_on, Assignment.created_at)
        .where((Assignment.user == user) & (Assignment.starts_on <= on)
               & (Assignment.ends_on >= on)).tuples()))
    [(capacity, starts_on, created_at)] = held(first.id, today + dt.timedelta(days=1))
    assert (capacity, starts_on) == ("plh", today)
    assert isinstance(created_at, dt.datetime) and created_at.tzinfo is not None
    assert held(first.id, today + dt.timedelta(days=3)) == []


def test_a_value_used_twice_is_one_placeholder_and_limits_are_values(people):
    _agency, first, second = people
    query = Prepared(db, lambda ident, limit: (
        User.select(User.id).where((User.id >= ident) | (User.id == ident))
        .order_by(User.id).limit(limit).tuples()))
    assert query(first.id, 1) == [(first.id,)]
    assert query(first.id, 5) == [(first.id,), (second.id,)]


def test_joins_are_hydrated_by_peewee(people):
    agency, first, _second = people
    position = Position.create(agency=agency, key="kabid", title="Kabid")
    Assignment.create(user=first, position=position)
    rows = Prepared(db, lambda ident: (Assignment.select(Assignment, Position).join(Position)
                                       .where(Assignment.user == ident)))(first.id)
    assert [(a.position.title, a.capacity) for a in rows] == [("Kabid", "definitive")]


def test_every_placeholder_must_be_used(people):
    unused = Prepared(db, lambda ident, other: User.select().where(User.id == ident))
    with pytest.raises(ValueError, match="placeholder"):
        unused(1, 2)


def test_inbox_rows_follow_assignments_by_date(people):
    """The inbox statement: tasks of the positions held on the date, most urgent first."""
    from portal.models import Application, SopVersion

    agency, first, second = people
    position = Position.create(agency=agency, key="kasi", title="Kasi")
    version = SopVersion.create(agency=agency, code="x", version=1, title="X", source="",
                                sha256="0" * 64)
    today = dt.date(2026, 11, 23)
    Assignment.create(user=first, position=position, starts_on=today, ends_on=today)
    application = Application.create(sop=version, agency=agency, applicant=second,
                                     registration_number="X/1", tracking_code="t1")
    now = utcnow().replace(microsecond=0)
    late = Task.create(application=application, step_key="b", actor_key="kasi",
                       position=position, due_at=now + dt.timedelta(hours=2))
    soon = Task.create(application=application, step_key="a", actor_key="kasi",
                       position=position, due_at=now + dt.timedelta(hours=1))
    Task.create(application=application, step_key="c", actor_key="kasi", position=position,
                status="done")
    rows = Task.inbox_rows(first, today)
    assert [r[0] for r in rows] == [soon.id, late.id]
    assert rows[0][3] == now + dt.timedelta(hours=1)
    assert rows[0][5:] == ("X/1", version.id, agency.id)
    assert Task.inbox_rows(first, today + dt.timedelta(days=1)) == []
    assert Task.inbox_rows(second, today) == []
    assert Task.inbox_codes(first, today) == ["x"]
    assert Task.inbox_rows(first, today, sop_code="y") == []


def test_kept_caches_belong_to_one_database(people, tmp_path):
    """Ids name different rows in different databases: per-process caches are per database."""
    from portal.db import bind, make_database, release

    agency, _first, _second = people
    assert Agency.cached(agency.id).code == "dinkes-x"
    kept("test")["k"] = 1
    own = db.obj
    other = make_database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        bind(other)
        assert kept("test") == {}
    finally:
        bind(own)
        release(other)
    assert kept("test") == {"k": 1}



def test_postgresql_prepares_once_per_connection_and_keeps_it_past_a_rollback(people,
                                                                             database_url):
    if not database_url.startswith("postgres"):
        pytest.skip("server-side prepared statements are PostgreSQL's")
    from portal.db import release

    _agency, first, _second = people
    by_id = Prepared(db, lambda ident: User.select(User.email).where(User.id == ident).tuples())

    def prepared_here() -> list[str]:
        return [s for s, in db.execute_sql(
            "SELECT statement FROM pg_prepared_statements").fetchall()]

    with db.atomic() as transaction:
        assert by_id(first.id) == [("a@x.test",)]
        transaction.rollback()
    assert by_id(first.id) == [("a@x.test",)]  # PREPARE outlives the rolled-back transaction
    assert sum('FROM "user"' in s for s in prepared_here()) == 1
    release(db.obj)  # a new connection prepares it again
    db.connect(reuse_if_open=True)
    assert prepared_here() == []
    assert by_id(first.id) == [("a@x.test",)]
    assert sum('FROM "user"' in s for s in prepared_here()) == 1


def test_json_aware_datetimes_and_functions_convert_as_peewee_does(people):
    """Subclasses of plain fields (JSON in a text column) still convert; aware datetimes as
    values compare as the models store them; functions are left to peewee."""
    from peewee import fn

    from portal.models import OutboxMessage

    agency, first, _second = people
    Agency.update(letterhead=["Pemerintah X", "Dinas Kesehatan"]).where(
        Agency.id == agency.id).execute()
    letterhead = Prepared(db, lambda ident: Agency.select(Agency.letterhead)
                          .where(Agency.id == ident).tuples())
    assert letterhead(agency.id) == [(["Pemerintah X", "Dinas Kesehatan"],)]
    message = OutboxMessage.create(event="e", recipient=first, to_address=first.email,
                                   subject="s", body_text="t", body_html="h")
    created = OutboxMessage.get_by_id(message.id).created_at
    before = Prepared(db, lambda moment: OutboxMessage.select(OutboxMessage.id)
                      .where(OutboxMessage.created_at < moment).tuples())
    jakarta = dt.timezone(dt.timedelta(hours=7))
    assert before(created.astimezone(jakarta)) == []  # the same instant, written in WIB
    assert before((created + dt.timedelta(seconds=1)).astimezone(jakarta)) == [(message.id,)]
    latest = Prepared(db, lambda ident: OutboxMessage.select(
        fn.MAX(OutboxMessage.created_at).alias("latest"))
        .where(OutboxMessage.recipient == ident).tuples())
    [(value,)] = latest(first.id)
    assert value == OutboxMessage.select(fn.MAX(OutboxMessage.created_at)).where(
        OutboxMessage.recipient == first.id).scalar()


def test_the_number_of_values_is_checked(people):
    by_id = Prepared(db, lambda ident: User.select(User.id).where(User.id == ident).tuples())
    by_id(1)
    with pytest.raises(TypeError, match="takes 1 values"):
        by_id(1, 2)
