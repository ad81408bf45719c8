"""User.is_platform_admin: the platform's own administrators, who create agencies and their
first administrators and import agencies' staff (``flask admin create EMAIL``)."""

from peewee import BooleanField


def up(migrator, db):
    migrator.migrate(migrator.add_column("user", "is_platform_admin",
                                         BooleanField(default=False)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("user", "is_platform_admin"))
