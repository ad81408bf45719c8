"""User.approved_at is gone: account approval is per agency (account_approval), and nothing
has read the column since that change."""

from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(migrator.drop_column("user", "approved_at"))


def down(migrator, db):
    migrator.migrate(migrator.add_column("user", "approved_at", DateTimeField(null=True)))
