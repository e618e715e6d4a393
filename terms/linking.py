"""Automatic links between terms: which terms a text mentions, and the text rendered with them.

One definition serves every reader. `Linker` finds mentions with one Aho-Corasick
automaton over the names, abbreviations, aliases and regular plurals of every term;
the stored mention table (`TermMention`, behind backlinks and the editorial report) is
what it finds over every term's definition and explanation (`mention_pairs`), and
the GraphQL fields render the same mentions, dropping those whose target the caller
cannot see. The rules:

- whole words only; a form that looks like an acronym ("LoRA", "RLHF": one word with
  two or more capitals) matches with its exact case, any other form in any case;
- the longest match wins, and a mention is a link only the first time in a field;
- a form shared by two terms is ambiguous: it links nowhere (the editorial report
  lists it), and like any match it keeps shorter forms inside it from linking;
- a term never links to itself, and a mention of a term the caller cannot see is
  plain text (it is not relinked to a shorter form: "reward model" is not "model");
- definitions are plain text; explanations are CommonMark, linked outside code,
  existing links and headings, and sanitized.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

import ahocorasick
import nh3
from django.conf import settings
from django.db.models import Count, Max
from django.utils.html import escape
from markdown_it import MarkdownIt
from markdown_it.token import Token

# Links per field; later mentions of further terms stay plain text. Bounds the size of
# a rendered definition's segments.
MAX_LINKS_PER_FIELD = 20

# Raw HTML in an explanation is shown as text; markdown-it already refuses unsafe link
# schemes, and the sanitizer below is the second line.
MARKDOWN = MarkdownIt("commonmark", {"html": False})
ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img",
    "li", "ol", "p", "pre", "strong", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "data-term"}, "img": {"src", "alt", "title"}}
SAFE_URL_SCHEMES = {"http", "https", "mailto"}


def sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=SAFE_URL_SCHEMES,
        link_rel=None,  # no target attribute is allowed, so no rel is needed
    )


def term_url(slug: str) -> str:
    """The term's page on the frontend, from the FRONTEND_TERM_URL template."""
    return settings.FRONTEND_TERM_URL.replace("{slug}", quote(slug))


def chapter_url(slug: str) -> str:
    """The chapter's page on the frontend, from the FRONTEND_CHAPTER_URL template."""
    return settings.FRONTEND_CHAPTER_URL.replace("{slug}", quote(slug))


def looks_like_acronym(form: str) -> bool:
    return " " not in form and sum(char.isupper() for char in form) >= 2


def plurals(form: str) -> set[str]:
    """The regular English plurals of a name's last word ("ch" takes both: "epochs",
    "batches")."""
    lower = form.lower()
    if lower.endswith(("s", "x", "z", "sh")):
        return {form + "es"}
    if lower.endswith("ch"):
        return {form + "es", form + "s"}
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return {form[:-1] + "ies"}
    return {form + "s"}


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _fold(text: str) -> str:
    """`text` in lower case, character for character (offsets stay valid)."""
    folded = text.lower()
    if len(folded) == len(text):
        return folded
    return "".join(lower if len(lower := char.lower()) == 1 else char for char in text)


@dataclass(frozen=True)
class LinkableTerm:
    """What linking reads of a term."""

    pk: int
    slug: str
    name: str
    abbreviation: str = ""
    aliases: str = ""

    def forms(self) -> set[str]:
        names = [self.name, self.abbreviation, *self.aliases.splitlines()]
        names = [" ".join(name.split()) for name in names]
        return {form for name in names if name for form in (name, *plurals(name))}


LINKABLE_FIELDS = ["pk", "slug", "name", "abbreviation", "aliases"]


@dataclass(frozen=True)
class Mention:
    """A span of text that names one or more terms (more than one: ambiguous)."""

    start: int
    end: int
    term_ids: frozenset[int]


@dataclass(frozen=True)
class Link:
    start: int
    end: int
    term_id: int


class Linker:
    """Finds mentions of a set of terms in texts; build once, use for many texts."""

    def __init__(self, terms: Iterable[LinkableTerm]):
        self.terms = {term.pk: term for term in terms}
        # folded form -> {(term id, form as written, whether its case must match)}
        by_key: dict[str, set[tuple[int, str, bool]]] = {}
        for term in self.terms.values():
            for form in term.forms():
                by_key.setdefault(_fold(form), set()).add((term.pk, form, looks_like_acronym(form)))
        self.automaton = ahocorasick.Automaton()
        for key, entries in by_key.items():
            self.automaton.add_word(key, (len(key), tuple(entries)))
        if by_key:
            self.automaton.make_automaton()
        self.by_key = by_key

    def ambiguous_forms(self) -> dict[str, list[int]]:
        """Forms (as written) that name more than one term, with those terms' ids."""
        forms: dict[str, set[int]] = {}
        for entries in self.by_key.values():
            if len({term_id for term_id, _, _ in entries}) < 2:
                continue
            # Case-insensitive forms clash with every other spelling of the same key;
            # acronyms only with their own spelling.
            for term_id, form, exact in entries:
                for other_id, other_form, other_exact in entries:
                    clash = form == other_form or not (exact and other_exact)
                    if other_id != term_id and clash:
                        forms.setdefault(form, set()).update({term_id, other_id})
        return {form: sorted(ids) for form, ids in sorted(forms.items())}

    def mentions(self, text: str) -> list[Mention]:
        """Non-overlapping mentions in `text`, in order; the longest match wins."""
        if not self.by_key or not text:
            return []
        folded = _fold(text)
        found: list[Mention] = []
        for last, (length, entries) in self.automaton.iter(folded):
            start, end = last - length + 1, last + 1
            if (start > 0 and _is_word_char(text[start - 1])) or (
                end < len(text) and _is_word_char(text[end])
            ):
                continue
            written = text[start:end]
            term_ids = frozenset(
                term_id for term_id, form, exact in entries if not exact or form == written
            )
            if term_ids:
                found.append(Mention(start, end, term_ids))
        chosen: list[Mention] = []
        for mention in sorted(found, key=lambda m: (m.start - m.end, m.start)):
            if all(mention.end <= other.start or other.end <= mention.start for other in chosen):
                chosen.append(mention)
        return sorted(chosen, key=lambda m: m.start)

    def links(
        self,
        text: str,
        *,
        source_id: int | None,
        visible: Callable[[int], bool],
        linked: set[int],
        limit: int | None = MAX_LINKS_PER_FIELD,
    ) -> list[Link]:
        """The mentions of `text` that become links: unambiguous, not `source_id`, visible,
        and the first of their term in the field (`linked` carries that across the
        pieces of one field and is updated)."""
        result = []
        for mention in self.mentions(text):
            if len(mention.term_ids) != 1:
                continue
            (term_id,) = mention.term_ids
            if term_id == source_id or term_id in linked or not visible(term_id):
                continue
            if limit is not None and len(linked) >= limit:
                break
            linked.add(term_id)
            result.append(Link(mention.start, mention.end, term_id))
        return result


def _linkable_text_tokens(tokens: list[Token]) -> Iterator[tuple[Token, int]]:
    """The text tokens of a Markdown token stream that may hold links, with their index
    among their inline parent's children: not in headings, links, code or images."""
    in_heading = False
    for token in tokens:
        if token.type == "heading_open":
            in_heading = True
        elif token.type == "heading_close":
            in_heading = False
        elif token.type == "inline" and not in_heading and token.children:
            link_depth = 0
            for index, child in enumerate(token.children):
                if child.type == "link_open":
                    link_depth += 1
                elif child.type == "link_close":
                    link_depth -= 1
                elif child.type == "text" and link_depth == 0:
                    yield token, index


def plain_text_links(linker: Linker, text: str, **rules) -> list[Link]:
    return linker.links(text, linked=set(), **rules)


def markdown_links(linker: Linker, source: str, **rules) -> set[int]:
    """The terms a Markdown text links to."""
    linked: set[int] = set()
    for inline, index in _linkable_text_tokens(MARKDOWN.parse(source)):
        linker.links(inline.children[index].content, linked=linked, **rules)
    return linked


def segments(text: str, links: list[Link]) -> list[tuple[str, int | None]]:
    """`text` cut into pieces, each linked to a term or to none."""
    pieces: list[tuple[str, int | None]] = []
    position = 0
    for link in links:
        if link.start > position:
            pieces.append((text[position : link.start], None))
        pieces.append((text[link.start : link.end], link.term_id))
        position = link.end
    if position < len(text) or not pieces:
        pieces.append((text[position:], None))
    return pieces


def _anchor_attributes(slug: str) -> dict[str, str]:
    return {"href": term_url(slug), "data-term": slug}


def plain_text_html(text: str, links: list[Link], slugs: dict[int, str]) -> str:
    """Plain text as HTML: escaped, with its links as anchors."""
    html = []
    for piece, term_id in segments(text, links):
        if term_id is None:
            html.append(escape(piece))
        else:
            attributes = "".join(
                f' {name}="{escape(value)}"'
                for name, value in _anchor_attributes(slugs[term_id]).items()
            )
            html.append(f"<a{attributes}>{escape(piece)}</a>")
    return sanitize("".join(html))


def markdown_html(linker: Linker, source: str, slugs: dict[int, str], **rules) -> str:
    """A Markdown text rendered to sanitized HTML with its links as anchors."""
    tokens = MARKDOWN.parse(source)
    linked: set[int] = set()
    # Replace from the last token backwards so that earlier indexes stay valid.
    replacements = []
    for inline, index in _linkable_text_tokens(tokens):
        text = inline.children[index].content
        links = linker.links(text, linked=linked, **rules)
        if links:
            replacements.append((inline, index, text, links))
    for inline, index, text, links in reversed(replacements):
        new_children = []
        for piece, term_id in segments(text, links):
            if term_id is None:
                new_children.append(Token("text", "", 0, content=piece))
                continue
            new_children += [
                Token("link_open", "a", 1, attrs=_anchor_attributes(slugs[term_id])),
                Token("text", "", 0, content=piece),
                Token("link_close", "a", -1),
            ]
        inline.children[index : index + 1] = new_children
    return sanitize(MARKDOWN.renderer.render(tokens, MARKDOWN.options, {}))


def mention_pairs(linker: Linker, texts: Iterable[tuple[int, str, str]]) -> set[tuple[int, int]]:
    """(source, target) for every term that `texts` (id, definition, explanation) link to
    when every term is visible: the contents of the mention table."""
    everything = {"visible": lambda term_id: True, "limit": None}
    pairs = set()
    for source_id, definition, explanation in texts:
        rules = {"source_id": source_id, **everything}
        targets = {link.term_id for link in plain_text_links(linker, definition, **rules)}
        targets |= markdown_links(linker, explanation, **rules)
        pairs.update((source_id, target_id) for target_id in targets)
    return pairs


# Linkers built from the terms table, by a version that changes whenever a term is
# added, changed or deleted (every write stamps updated_at).
_LINKERS: dict[tuple, Linker] = {}


def linker_version(term_model) -> tuple:
    aggregate = term_model.objects.aggregate(
        count=Count("pk"), last_change=Max("updated_at"), last_id=Max("pk")
    )
    return tuple(aggregate.values())


def build_linker(term_model) -> Linker:
    return Linker(LinkableTerm(**row) for row in term_model.objects.values(*LINKABLE_FIELDS))


def current_linker(term_model) -> Linker:
    """The linker over every term as the database holds them now (one cheap query when
    nothing changed since the last call in this process)."""
    version = linker_version(term_model)
    linker = _LINKERS.get(version)
    if linker is None:
        linker = build_linker(term_model)
        _LINKERS.clear()
        _LINKERS[version] = linker
    return linker
