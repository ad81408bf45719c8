"""Account approvals per agency, and failed logins for throttling."""

from peewee import CharField, DateTimeField, ForeignKeyField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "user"

    class Agency(Base):
        class Meta:
            table_name = "agency"

    class AccountApproval(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        agency = ForeignKeyField(Agency, on_delete="CASCADE")
        status = CharField(default="pending")
        requested_at = DateTimeField()
        decided_at = DateTimeField(null=True)
        decided_by = ForeignKeyField(User, null=True)
        reason = TextField(default="")

        class Meta:
            indexes = ((("user", "agency"), True), (("agency", "status"), False))

    class LoginFailure(Base):
        email = CharField(index=True)
        ip = CharField(index=True)
        at = DateTimeField(index=True)

    db.create_tables([AccountApproval, LoginFailure])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "account_approval"')
    db.execute_sql('DROP TABLE IF EXISTS "login_failure"')
