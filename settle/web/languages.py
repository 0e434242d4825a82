"""Which language a customer-facing page speaks, and the templates' gettext in it.

A page asked for in a language (`?language=fr`, the page's language switch) speaks it; otherwise a page behind
a customer's link speaks the customer's language (`customers.language`); otherwise the browser's
Accept-Language decides, among Dutch, French and English, English when none of them is accepted.
The agent console and the operations pages stay English: their templates never get a language.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import Request
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from settle.clock import format_date, format_month
from settle.identity.language import DEFAULT_LANGUAGE, SUPPORTED, supported
from settle.locales import locale_for
from settle.money import format_euros
from settle.translations import translations_for

#: Each language by its own name, as a language switch shows it.
NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}


@dataclass(frozen=True)
class PageLanguage:
    code: str
    #: Whether the visitor chose it (`?language=`): links and forms on the page keep it.
    chosen: bool


def accepted_language(header: str | None) -> str | None:
    """The language the browser prefers most among those Settle speaks ("nl-BE,nl;q=0.9,en;q=0.8" → "nl"),
    None when it accepts none of them. A tie goes to the one listed first."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, parameters = part.strip().partition(";")
        code = supported(tag.strip())
        if code is None:
            continue
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0 and (best is None or (quality, -position) > (best[0], best[1])):
            best = (quality, -position, code)
    return best[2] if best else None


def page_language(request: Request, customer_language: str | None = None) -> PageLanguage:
    """The page's language: the one asked for in the address, the customer's, or the browser's."""
    asked = supported(request.query_params.get("language"))
    if asked is not None:
        return PageLanguage(asked, chosen=True)
    stored = supported(customer_language)
    if stored is not None:
        return PageLanguage(stored, chosen=False)
    return PageLanguage(accepted_language(request.headers.get("accept-language")) or DEFAULT_LANGUAGE, chosen=False)


def language_switch(request: Request, current: str) -> list[dict[str, str | bool]]:
    """Links to this page in each language, the current one marked."""
    links: list[dict[str, str | bool]] = []
    for code in SUPPORTED:
        query = {**request.query_params, "language": code}
        links.append({"code": code, "name": NAMES[code], "href": f"{request.url.path}?{urlencode(query)}", "current": code == current})
    return links


def page_context(request: Request, language: PageLanguage, switch: bool = True) -> dict[str, object]:
    """What every customer-facing template needs to speak `language`."""
    return {
        "language": language.code,
        # Appended to the page's own links and forms, so a chosen language survives a click.
        "keep_language": f"?language={language.code}" if language.chosen else "",
        "language_switch": language_switch(request, language.code) if switch else [],
    }


def language_headers(language: str) -> dict[str, str]:
    """Content-Language says which; Vary tells caches that the same address differs by Accept-Language."""
    return {"Content-Language": language, "Vary": "Accept-Language"}


def _language_of(context: Context) -> str:
    return supported(context.get("language")) or DEFAULT_LANGUAGE


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations_for(_language_of(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return translations_for(_language_of(context)).ngettext(singular, plural, count)


@pass_context
def _translated(context: Context, text: str) -> str:
    """A text from the data (a bill line's description) in the page's language when the catalog has it."""
    return translations_for(_language_of(context)).gettext(text)


@pass_context
def _euros(context: Context, amount) -> str:
    return format_euros(amount, _language_of(context))


@pass_context
def _day(context: Context, day) -> str:
    return format_date(day, _language_of(context))


@pass_context
def _number(context: Context, value) -> str:
    """A quantity as the page's readers write it: 1,234.5 / 1.234,5 / 1 234,5."""
    return format_decimal(value, locale=locale_for(_language_of(context)), decimal_quantization=False)


@pass_context
def _month(context: Context, day) -> str:
    return format_month(day, _language_of(context))


def install(environment: Environment) -> None:
    """`_()`, `gettext`, `ngettext` and `{% trans %}` (jinja2.ext.i18n, new style: `_("Bill %(number)s", number=n)`)
    and the `euros`, `day`, `month`, `number` and `translated` filters, all in the `language` of the page being rendered (English for a
    template that has none). The callables read the language from the render context, so one environment serves
    every request at once."""
    environment.add_extension("jinja2.ext.i18n")
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.filters["euros"] = _euros
    environment.filters["day"] = _day
    environment.filters["month"] = _month
    environment.filters["translated"] = _translated
    environment.filters["number"] = _number
