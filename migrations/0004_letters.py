"""Issued letters: number, signed PDF, verification token, status; and letter templates
an agency may override."""

from peewee import (
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


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

    class Position(Base):
        class Meta:
            table_name = "position"

    class Application(Base):
        class Meta:
            table_name = "application"

    class Letter(Base):
        application = ForeignKeyField(Application, on_delete="CASCADE")
        agency = ForeignKeyField(Agency)
        letter_key = CharField()
        title = CharField()
        number = CharField()
        series = CharField()
        seq = IntegerField()
        year = IntegerField()
        token = CharField(unique=True)
        storage_key = CharField()
        sha256 = CharField(index=True)
        size = IntegerField()
        signer = ForeignKeyField(User)
        signer_position = ForeignKeyField(Position, null=True)
        capacity = CharField(default="definitive")
        signer_name = CharField()
        signer_nip = CharField(default="")
        signer_title = CharField(default="")
        holder_name = CharField(default="")
        issued_at = DateTimeField()
        status = CharField(default="valid")
        revoked_at = DateTimeField(null=True)
        revoked_by = ForeignKeyField(User, null=True)
        revoke_reason = TextField(default="")
        replaced_by = ForeignKeyField("self", null=True)

        class Meta:
            indexes = ((("agency", "number"), True), (("application", "letter_key"), False))

    class LetterTemplate(Base):
        agency = ForeignKeyField(Agency, on_delete="CASCADE")
        sop_code = CharField()
        letter_key = CharField()
        source = TextField()
        updated_at = DateTimeField()
        updated_by = ForeignKeyField(User, null=True)

        class Meta:
            indexes = ((("agency", "sop_code", "letter_key"), True),)

    db.create_tables([Letter, LetterTemplate])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "letter_template"')
    db.execute_sql('DROP TABLE IF EXISTS "letter"')
