"""User.language: the language a person chose in the portal ("id" or "en"), so that the
e-mails they receive are written in it. Existing accounts keep Bahasa Indonesia."""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column("user", "language", CharField(default="id")))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("user", "language"))
