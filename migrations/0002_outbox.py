"""The e-mail outbox: messages written in the same transaction as the change that causes them."""

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "user"

    class Application(Base):
        class Meta:
            table_name = "application"

    class OutboxMessage(Base):
        event = CharField()
        recipient = ForeignKeyField(User, null=True)
        to_address = CharField()
        subject = CharField()
        body_text = TextField()
        body_html = TextField()
        application = ForeignKeyField(Application, null=True, on_delete="SET NULL")
        dedupe_key = CharField(unique=True, null=True)
        status = CharField(default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        last_error = TextField(default="")
        created_at = DateTimeField()
        sent_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("status", "next_attempt_at"), False),)

    db.create_tables([OutboxMessage])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "outbox_message"')
