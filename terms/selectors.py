"""Reads that span several terms: the editorial report on the links between terms."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower

from terms.linking import current_linker
from terms.models import Term, TermMention, TermRelation


@dataclass
class AmbiguousForm:
    form: str
    terms: list[Term]


@dataclass
class EditorialReport:
    mentions_not_in_see_also: list[TermMention]
    orphans: list[Term]
    ambiguous: list[AmbiguousForm]
    links_to_hidden: list[TermMention]


def editorial_report() -> EditorialReport:
    """What editors may want to fix about the links between terms:

    - a term's text links to a term that is not in its see-also list;
    - orphans: terms whose text links nowhere and that no text links to;
    - ambiguous forms: a name, abbreviation or alias (or its plural) of two or more
      terms, which therefore links nowhere;
    - a published term's text mentions a term the public cannot see.
    """
    pairs = TermMention.objects.select_related("source", "target").order_by(
        Lower("source__name"), Lower("target__name")
    )
    in_see_also = TermRelation.objects.filter(
        from_term=OuterRef("source"), to_term=OuterRef("target")
    )
    linked = Q(Exists(TermMention.objects.filter(source=OuterRef("pk")))) | Q(
        Exists(TermMention.objects.filter(target=OuterRef("pk")))
    )
    published = Term.objects.published()
    linker = current_linker(Term)
    ambiguous = linker.ambiguous_forms()
    terms_by_id = Term.objects.in_bulk({pk for ids in ambiguous.values() for pk in ids})
    return EditorialReport(
        mentions_not_in_see_also=list(pairs.exclude(Exists(in_see_also))),
        orphans=list(Term.objects.exclude(linked)),
        ambiguous=[
            AmbiguousForm(form=form, terms=[terms_by_id[pk] for pk in ids])
            for form, ids in ambiguous.items()
        ],
        links_to_hidden=list(pairs.filter(source__in=published).exclude(target__in=published)),
    )
