"""The initial schema: agencies, people and positions, SOP versions, files, audit chain.

A frozen copy of the tables as they were at this migration, independent of
portal/models.py, so later model changes never rewrite history.
"""

from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

GENESIS = "0" * 64


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Agency(Base):
        code = CharField(unique=True)
        name = CharField()
        government = CharField(default="")
        city = CharField(default="")
        letterhead = TextField(default="[]")
        timezone = CharField(default="Asia/Jakarta")
        office_hours = TextField(null=True)
        requires_account_approval = BooleanField(default=False)
        supervisor_position = CharField(null=True)
        created_at = DateTimeField()

    class DayOff(Base):
        agency = ForeignKeyField(Agency, on_delete="CASCADE")
        day = DateField()
        name = CharField(default="")

        class Meta:
            indexes = ((("agency", "day"), True),)

    class User(Base):
        email = CharField(unique=True)
        name = CharField()
        password_hash = CharField()
        nip = CharField(null=True)
        phone = CharField(null=True)
        agency = ForeignKeyField(Agency, null=True)
        is_agency_admin = BooleanField(default=False)
        email_verified_at = DateTimeField(null=True)
        approved_at = DateTimeField(null=True)
        active = BooleanField(default=True)
        created_at = DateTimeField()

    class Position(Base):
        agency = ForeignKeyField(Agency, on_delete="CASCADE")
        key = CharField()
        title = CharField()

        class Meta:
            indexes = ((("agency", "key"), True),)

    class Assignment(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        position = ForeignKeyField(Position, on_delete="CASCADE")
        capacity = CharField(default="definitive")
        starts_on = DateField(null=True)
        ends_on = DateField(null=True)
        created_at = DateTimeField()

    class SopVersion(Base):
        agency = ForeignKeyField(Agency)
        code = CharField()
        version = IntegerField()
        title = CharField()
        source = TextField()
        sha256 = CharField()
        active = BooleanField(default=True)
        imported_at = DateTimeField()

        class Meta:
            indexes = ((("code", "version"), True),)

    class Application(Base):
        sop = ForeignKeyField(SopVersion)
        agency = ForeignKeyField(Agency)
        applicant = ForeignKeyField(User)
        registration_number = CharField(unique=True, null=True)
        tracking_code = CharField(unique=True)
        form_data = TextField(default="{}")
        status = CharField(default="in_progress")
        current_step = CharField(null=True)
        resume_at = CharField(null=True)
        submission_key = CharField(unique=True, null=True)
        created_at = DateTimeField()
        submitted_at = DateTimeField(null=True)
        closed_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("agency", "status"), False), (("applicant", "created_at"), False))

    class Document(Base):
        application = ForeignKeyField(Application, on_delete="CASCADE")
        requirement = CharField()
        version = IntegerField()
        filename = CharField()
        media_type = CharField()
        size = IntegerField()
        sha256 = CharField()
        storage_key = CharField()
        uploaded_by = ForeignKeyField(User)
        uploaded_at = DateTimeField()

        class Meta:
            indexes = ((("application", "requirement", "version"), True),)

    class Task(Base):
        application = ForeignKeyField(Application, on_delete="CASCADE")
        step_key = CharField()
        actor_key = CharField()
        position = ForeignKeyField(Position, null=True)
        assignee = ForeignKeyField(User, null=True)
        kind = CharField(default="step")
        status = CharField(default="open")
        opened_at = DateTimeField()
        clock_started_at = DateTimeField()
        due_at = DateTimeField(null=True)
        decided_at = DateTimeField(null=True)
        decided_by = ForeignKeyField(User, null=True)
        outcome = CharField(null=True)

        class Meta:
            indexes = (
                (("position", "status", "due_at"), False),
                (("assignee", "status"), False),
                (("application", "status"), False),
            )

    class Decision(Base):
        application = ForeignKeyField(Application, on_delete="CASCADE")
        task = ForeignKeyField(Task, unique=True)
        step_key = CharField()
        outcome = CharField()
        effect = CharField()
        actor = ForeignKeyField(User)
        position = ForeignKeyField(Position, null=True)
        capacity = CharField(null=True)
        note = TextField(default="")
        data = TextField(default="{}")
        decided_at = DateTimeField()

    class Counter(Base):
        scope = CharField()
        series = CharField()
        year = IntegerField()
        value = IntegerField(default=0)

        class Meta:
            indexes = ((("scope", "series", "year"), True),)

    class AuditEvent(Base):
        seq = IntegerField(unique=True)
        at = DateTimeField()
        actor = ForeignKeyField(User, null=True)
        action = CharField()
        object_type = CharField(default="")
        object_id = CharField(default="")
        data = TextField(default="{}")
        prev_hash = CharField()
        hash = CharField()

        class Meta:
            indexes = ((("object_type", "object_id"), False),)

    class AuditHead(Base):
        seq = IntegerField(default=0)
        hash = CharField()

    db.create_tables([Agency, DayOff, User, Position, Assignment, SopVersion, Application,
                      Document, Task, Decision, Counter, AuditEvent, AuditHead])
    AuditHead.create(id=1, seq=0, hash=GENESIS)


def down(migrator, db):
    for table in ("audit_head", "audit_event", "counter", "decision", "task", "document",
                  "application", "sop_version", "assignment", "position", "user", "day_off",
                  "agency"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
