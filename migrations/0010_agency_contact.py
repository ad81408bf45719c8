"""Agency settings the administrator edits on /admin/settings: the contact line printed
under the letterhead (address, phone, e-mail, website) and the logo of the kop surat
(stored scaled, through portal.storage like documents; the agency keeps its key)."""

from peewee import CharField, TextField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("agency", "address", TextField(default="")),
        migrator.add_column("agency", "phone", CharField(default="")),
        migrator.add_column("agency", "email", CharField(default="")),
        migrator.add_column("agency", "website", CharField(default="")),
        migrator.add_column("agency", "logo_key", CharField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("agency", "logo_key"),
        migrator.drop_column("agency", "website"),
        migrator.drop_column("agency", "email"),
        migrator.drop_column("agency", "phone"),
        migrator.drop_column("agency", "address"),
    )
