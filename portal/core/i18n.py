"""Translation of what the domain code says to people, without needing Flask.

Operations raise errors whose messages are marked with ``lazy_gettext`` (imported as
``_l``): the message is kept as its Indonesian msgid and translated when it is shown, into
the language of the request that shows it (or Indonesian, the portal's language, outside a
request: the CLI, e-mail workers). ``pybabel extract`` finds the ``_l`` marks (babel.cfg).
"""

from __future__ import annotations

from functools import lru_cache

from babel.support import NullTranslations, Translations

from portal.core.paths import TRANSLATIONS_DIR

__all__ = ["LANGUAGES", "LazyText", "current_language", "gettext_in", "lazy_gettext"]

LANGUAGES = ("id", "en")  # Bahasa Indonesia first: the msgids are Indonesian
DEFAULT_LANGUAGE = "id"


@lru_cache(maxsize=len(LANGUAGES))
def _catalogue(language: str) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [language])


def _language() -> str:
    """The language of the current request (flask-babel's choice), else the default."""
    try:
        from flask import has_request_context
        from flask_babel import get_locale
    except ImportError:  # pragma: no cover - Flask is installed with the portal
        return DEFAULT_LANGUAGE
    if not has_request_context():
        return DEFAULT_LANGUAGE
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES \
        else DEFAULT_LANGUAGE


def current_language() -> str:
    """The language of the current request ("id" outside a request): for words the domain
    code writes out itself, such as durations."""
    return _language()


def gettext_in(language: str, msgid: str, **variables) -> str:
    """``msgid`` translated into ``language``, with ``%(name)s`` variables filled in."""
    text = _catalogue(language if language in LANGUAGES else DEFAULT_LANGUAGE).ugettext(msgid)
    return text % variables if variables else text


class LazyText:
    """A message marked for translation and translated each time it is shown."""

    __slots__ = ("msgid", "variables")

    def __init__(self, msgid: str, **variables):
        self.msgid, self.variables = msgid, variables

    def __str__(self) -> str:
        return gettext_in(_language(), self.msgid, **self.variables)

    def __repr__(self) -> str:
        return f"LazyText({self.msgid!r})"

    def __eq__(self, other) -> bool:
        if isinstance(other, LazyText):
            return (self.msgid, self.variables) == (other.msgid, other.variables)
        return str(self) == other

    def __hash__(self) -> int:
        return hash(self.msgid)

    def __len__(self) -> int:
        return len(str(self))

    def __contains__(self, part: str) -> bool:
        return part in str(self)

    def __add__(self, other) -> str:
        return str(self) + str(other)

    def __radd__(self, other) -> str:
        return str(other) + str(self)

    def in_language(self, language: str) -> str:
        """The message in a given language (an e-mail in its recipient's language)."""
        return gettext_in(language, self.msgid, **self.variables)


def lazy_gettext(msgid: str, **variables) -> LazyText:
    """Mark ``msgid`` for translation; variables are filled in when it is shown."""
    return LazyText(msgid, **variables)
