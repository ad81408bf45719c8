"""Long-term validation: every stored revision of a letter (the issued file, then each one
`letters extend` adds: validation data and document timestamps), and the PAdES level a letter
has reached (B-B, B-T, B-LT, B-LTA). Letters issued before this were signed without a
timestamp: they get their issued file as revision 1 at level B-B, which queues them for
`letters extend` once a timestamp authority is configured."""

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Letter(Base):
        class Meta:
            table_name = "letter"

    class LetterRevision(Base):
        letter = ForeignKeyField(Letter, on_delete="CASCADE")
        seq = IntegerField()
        storage_key = CharField()
        sha256 = CharField(index=True)
        size = IntegerField()
        level = CharField()
        timestamped_at = DateTimeField(null=True)
        timestamp_expires_at = DateTimeField(null=True)
        created_at = DateTimeField()

        class Meta:
            table_name = "letter_revision"
            indexes = ((("letter", "seq"), True),)

    migrator.migrate(migrator.add_column("letter", "level", CharField(default="B-B")))
    db.create_tables([LetterRevision])
    db.execute_sql(
        'INSERT INTO "letter_revision" '
        '("letter_id", "seq", "storage_key", "sha256", "size", "level", "created_at") '
        'SELECT "id", 1, "storage_key", "sha256", "size", \'B-B\', "issued_at" FROM "letter"')


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "letter_revision"')
    migrator.migrate(migrator.drop_column("letter", "level"))
