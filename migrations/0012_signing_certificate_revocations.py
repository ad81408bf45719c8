"""Revoked signing certificates: which certificate (issuer and serial), whose, why, when and by
whom. Signing with a certificate listed here is refused; the development CA's entries make up
the CRL the portal serves at /ca.crl."""

from peewee import CharField, DateTimeField, ForeignKeyField, Model, TextField


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

    class CertificateRevocation(Base):
        agency = ForeignKeyField(Agency)
        official = ForeignKeyField(User)
        issuer_hash = CharField(max_length=64)
        serial = CharField(max_length=64)
        issuer = CharField()
        subject = CharField()
        not_after = DateTimeField(null=True)
        reason = CharField(max_length=32)
        note = TextField(default="")
        revoked_at = DateTimeField()
        revoked_by = ForeignKeyField(User)

        class Meta:
            table_name = "signing_certificate_revocation"
            indexes = ((("issuer_hash", "serial"), True),)

    db.create_tables([CertificateRevocation])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "signing_certificate_revocation"')
