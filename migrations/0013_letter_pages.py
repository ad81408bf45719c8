"""Small images of each page of an issued letter, rendered once at issuance, and the subject
it prints, for the public verification page: a reader compares them with the paper copy."""

from peewee import CharField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Letter(Base):
        class Meta:
            table_name = "letter"

    class LetterPage(Base):
        letter = ForeignKeyField(Letter, on_delete="CASCADE")
        page = IntegerField()
        storage_key = CharField()
        size = IntegerField()
        width = IntegerField()
        height = IntegerField()

        class Meta:
            table_name = "letter_page"
            indexes = ((("letter", "page"), True),)

    db.create_tables([LetterPage])
    migrator.migrate(migrator.add_column("letter", "subject", CharField(default="")))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("letter", "subject"))
    db.execute_sql('DROP TABLE IF EXISTS "letter_page"')
