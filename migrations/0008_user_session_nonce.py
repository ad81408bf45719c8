"""User.session_nonce: a random value per account that sessions and password-reset links
carry instead of fragments of the password hash. Changing the password draws a new one,
which ends every other session and spends every reset link."""

import secrets

from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column("user", "session_nonce", CharField(default="")))
    ids = [row[0] for row in db.execute_sql('SELECT id FROM "user"').fetchall()]
    for ident in ids:
        db.execute_sql('UPDATE "user" SET session_nonce = %s WHERE id = %s'
                       .replace("%s", db.param), (secrets.token_urlsafe(16), ident))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("user", "session_nonce"))
