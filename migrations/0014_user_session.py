"""UserSession: one row per login. The session cookie carries the row's random id; ending
the row (logout, password change, deactivation, "log out everywhere") refuses the cookie
from then on, on every host sharing the database. Failed logins are counted by the rate
limiter (flask-limiter) from now on, so their table goes."""

from peewee import CharField, DateTimeField, ForeignKeyField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "user"

    class UserSession(Base):
        id = CharField(primary_key=True, max_length=64)
        user = ForeignKeyField(User, on_delete="CASCADE")
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        ended_at = DateTimeField(null=True)
        ended_reason = CharField(max_length=32, default="")
        user_agent = CharField(max_length=120, default="")

        class Meta:
            table_name = "user_session"
            indexes = ((("user", "ended_at"), False),)

    db.create_tables([UserSession])
    db.execute_sql('DROP TABLE IF EXISTS "login_failure"')


def down(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class LoginFailure(Base):
        email = CharField(index=True)
        ip = CharField(index=True)
        at = DateTimeField(index=True)

    db.create_tables([LoginFailure])
    db.execute_sql('DROP TABLE IF EXISTS "user_session"')
