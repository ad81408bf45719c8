"""Audit events are appended unchained and sealed into the hash chain afterwards, so no
request waits on the chain's head row (it only orders the sealers).

- ``audit_event.seq``, ``prev_hash`` and ``hash`` stay empty until the event is sealed;
  a partial index finds the unsealed ones.
- ``audit_event.mac``: HMAC-SHA256 of the event's content under the portal's audit key
  (kept outside the database), written with the row; ``nonce`` makes every row's MAC unique.
- ``audit_head.mac`` and ``audit_checkpoint``: the chain's head, and a checkpoint every
  thousand events, keyed the same way, so that a rewritten chain does not verify.

Events sealed before this migration keep their hashes; the first keyed checkpoint over them
is made by ``flask audit seal --adopt`` (see the README, "Audit trail").
"""

from peewee import CharField, DateTimeField, IntegerField, Model


def up(migrator, db):
    migrator.migrate(
        migrator.drop_not_null("audit_event", "seq"),
        migrator.drop_not_null("audit_event", "prev_hash"),
        migrator.drop_not_null("audit_event", "hash"),
        migrator.add_column("audit_event", "mac", CharField(null=True)),
        migrator.add_column("audit_event", "nonce", CharField(null=True)),
        migrator.add_column("audit_head", "mac", CharField(null=True)),
    )
    db.execute_sql('CREATE UNIQUE INDEX "audit_event_nonce" ON "audit_event" ("nonce")')
    db.execute_sql('CREATE INDEX "audit_event_unsealed" ON "audit_event" ("id") '
                   'WHERE "seq" IS NULL')

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class AuditCheckpoint(Base):
        seq = IntegerField(unique=True)
        hash = CharField()
        mac = CharField()
        at = DateTimeField()

    db.create_tables([AuditCheckpoint])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "audit_checkpoint"')
    db.execute_sql('DROP INDEX IF EXISTS "audit_event_unsealed"')
    db.execute_sql('DROP INDEX IF EXISTS "audit_event_nonce"')
    migrator.migrate(
        migrator.drop_column("audit_head", "mac"),
        migrator.drop_column("audit_event", "nonce"),
        migrator.drop_column("audit_event", "mac"),
    )
