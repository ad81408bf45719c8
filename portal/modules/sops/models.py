"""Stored SOP versions: the YAML source is the truth, the spec is parsed from it."""

from __future__ import annotations

from peewee import (
    BooleanField,
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from portal.core.model import BaseModel, UTCDateTimeField, utcnow
from portal.modules.agencies.models import Agency


class SopVersion(BaseModel):
    """One imported version of an SOP: its YAML source is the truth; the spec is derived."""

    agency = ForeignKeyField(Agency, backref="sops")
    code = CharField()
    version = IntegerField()
    title = CharField()
    source = TextField()
    sha256 = CharField()
    active = BooleanField(default=True)
    imported_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("code", "version"), True),)

    @property
    def spec(self):
        """The validated spec (parsed once per process and source).

        A row selected without its source (lists select only the columns they show) reads
        the source only when this process has not parsed that version yet.
        """
        return SopVersion.spec_of(self.id, self.sha256, self.source)

    @staticmethod
    def spec_of(version_id: int, sha256: str, source: str | None = None):
        """The spec of a stored version, by its source's hash: a spec is immutable, so it
        is parsed once per process and source, and the source is read only then."""
        from portal.modules.sops.registry import cached_spec, spec_from_source

        spec = cached_spec(sha256)
        if spec is not None:
            return spec
        source = source or SopVersion.select(SopVersion.source).where(
            SopVersion.id == version_id).scalar()
        return spec_from_source(source, sha256)

    # Columns a list needs to show a version and reach its spec, without the YAML source.
    LIGHT = ("id", "agency", "code", "version", "title", "sha256", "active")

    @classmethod
    def current(cls, code: str) -> SopVersion | None:
        """The active version new files of this SOP use."""
        return (cls.select().where((cls.code == code) & cls.active)
                .order_by(cls.version.desc()).first())

    @classmethod
    def active_specs(cls) -> list:
        """The specs of every active version (one light statement, written out: the menu
        of every official's page asks; specs are kept by hash)."""
        database = cls._meta.database
        cursor = database.execute_sql(
            f'SELECT id, sha256 FROM "sop_version" WHERE active = {database.param}', (True,))
        return [cls.spec_of(ident, sha256) for ident, sha256 in cursor.fetchall()]

    @classmethod
    def catalogue(cls) -> list[SopVersion]:
        """The active version of every SOP, by agency and code (without the YAML sources:
        their specs are cached by hash)."""
        return list(cls.select(*(getattr(cls, c) for c in cls.LIGHT), Agency).join(Agency)
                    .where(cls.active).order_by(Agency.name, cls.code))

