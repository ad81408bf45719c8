"""Small page images of uploaded documents, made once at upload, for officials on slow lines."""

from peewee import TextField


def up(migrator, db):
    migrator.migrate(migrator.add_column("document", "previews", TextField(default="[]")))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("document", "previews"))
