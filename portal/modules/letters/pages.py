"""What an issued letter prints, kept for the public verification page: a small grey image of
each page (rendered once, right after signing, at most PAGE_BUDGET bytes), its subject, and
the name of the person it is about. A stranger holding a paper copy compares them with it.

The images show nothing the paper does not; they are served without an account, under the
letter's unguessable token (``/v/<token>/pages/<n>.jpg``)."""

from __future__ import annotations

import io

from peewee import CharField, ForeignKeyField, IntegerField

import signing
from portal.core.model import BaseModel
from portal.modules.applications.models import Application
from portal.modules.applications.previews import make_previews
from portal.modules.letters.models import Letter
from portal.storage import current_storage

__all__ = ["PAGE_BUDGET", "LetterPage", "about_name", "page_images", "record_print"]

PAGE_BUDGET = 30_000  # bytes of one page image: about five seconds at 50 kbit/s


class LetterPage(BaseModel):
    """One page image of an issued letter (table ``letter_page``, migration 0013)."""

    letter = ForeignKeyField(Letter, backref="pages", on_delete="CASCADE")
    page = IntegerField()  # from 0
    storage_key = CharField()
    size = IntegerField()
    width = IntegerField()
    height = IntegerField()

    class Meta:
        table_name = "letter_page"
        indexes = ((("letter", "page"), True),)

    @classmethod
    def of(cls, letter: Letter) -> list[LetterPage]:
        """The letter's page images, in page order."""
        return list(cls.select().where(cls.letter == letter).order_by(cls.page))


def page_images(pdf: bytes, budget: int = PAGE_BUDGET) -> list[bytes]:
    """Grey JPEG images of the pages of ``pdf``, each at most ``budget`` bytes: the drafts'
    renderer (``previews.make_previews``), scaled down further for a page too dense to fit."""
    from PIL import Image

    images = []
    for image in make_previews(pdf, "application/pdf", budget):
        while len(image) > budget:
            with Image.open(io.BytesIO(image)) as picture:
                smaller = picture.resize((picture.width * 4 // 5, picture.height * 4 // 5))
            out = io.BytesIO()
            smaller.save(out, "JPEG", quality=30, optimize=True, progressive=True)
            image = out.getvalue()
        images.append(image)
    return images


def about_name(application: Application, content: signing.LetterContent) -> str:
    """The name of the person the letter is about, as it prints it: the name filled in the
    form (``full_name``, or another ``…name`` field) when the letter prints it, else the
    applicant's (a SIK names the medical recorder; a rekomendasi, the account holder)."""
    printed = "\n".join(content.body)
    form = application.form_data or {}
    candidates = [form.get("full_name")]
    candidates += [v for k, v in sorted(form.items()) if k.endswith("name") and k != "full_name"]
    candidates.append(application.applicant.name)
    return next((c.strip() for c in candidates
                 if isinstance(c, str) and c.strip() and c.strip() in printed), "")


def record_print(letter: Letter, pdf: bytes, content: signing.LetterContent) -> None:
    """Keep what the signed letter prints for its public page: the subject, the name it is
    about (for a letter issued to a person) and an image of each page; inside the issuing
    transaction, the images promoted to storage when it commits."""
    from PIL import Image

    letter.subject = content.subject or content.title
    if letter.holder_name:  # issued to a person: the one the letter names
        letter.holder_name = about_name(letter.application, content) or letter.holder_name
    letter.save()
    storage = current_storage()
    for number, image in enumerate(page_images(pdf)):
        with Image.open(io.BytesIO(image)) as picture:
            width, height = picture.size
        key, _digest = storage.put_after_commit(image)
        LetterPage.create(letter=letter, page=number, storage_key=key, size=len(image),
                          width=width, height=height)
