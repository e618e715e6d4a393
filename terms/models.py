from textwrap import shorten

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Left, Lower, Now, Upper
from django.db.models.lookups import In
from django.utils import timezone
from reversion.models import Version

from glossary_backend.inputs import text_problem

# "See also" links per term: enough for any real glossary entry, and a bound that the API
# can multiply by (glossary_backend.cost).
MAX_RELATED_TERMS = 50


class Status(models.TextChoices):
    """Editorial life cycle shared by chapters, terms and quizzes."""

    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


def can_see_unpublished(user) -> bool:
    """Staff (editors included) preview drafts and archived content; nobody else does."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def live_q(prefix: str = "") -> Q:
    """Published, and inside its schedule by the database's clock at the time the query
    runs: no worker has to flip anything when a publication goes live or expires."""
    return (
        Q(**{f"{prefix}status": Status.PUBLISHED})
        & (Q(**{f"{prefix}go_live_at__isnull": True}) | Q(**{f"{prefix}go_live_at__lte": Now()}))
        & (Q(**{f"{prefix}expire_at__isnull": True}) | Q(**{f"{prefix}expire_at__gt": Now()}))
    )


class PublishableQuerySet(models.QuerySet):
    """Visibility rules: the one place that decides who sees what."""

    def published_q(self) -> Q:
        """What anybody may see; models whose visibility also depends on a parent (a
        term's chapter) extend it."""
        return live_q()

    def previewed_q(self, preview) -> Q | None:
        """What a preview grant (glossary_backend.preview) shows beyond published content:
        the object it names, as if it were published."""
        return Q(pk=preview.pk) if preview.model is self.model else None

    def published(self):
        return self.filter(self.published_q())

    def visible_to(self, user):
        if can_see_unpublished(user):
            return self
        preview = getattr(user, "preview", None)
        previewed = self.previewed_q(preview) if preview is not None else None
        if previewed is not None:
            return self.filter(self.published_q() | previewed)
        return self.published()

    def scheduled(self):
        """Published, waiting for its go-live time."""
        return self.filter(status=Status.PUBLISHED, go_live_at__gt=Now())

    def expired(self):
        """Published, past its expiry time."""
        return self.filter(status=Status.PUBLISHED, expire_at__lte=Now())

    def publication_problems(self) -> list[str]:
        """Why the objects of this QuerySet could not be published; empty when they can.
        Models whose publication needs more than a row (a quiz's questions) say so here,
        so that every publishing path checks it."""
        return []


class StoredTextRules(models.Model):
    """Every text field of the model keeps the one rule for stored text
    (glossary_backend.inputs.text_problem), whatever form, import or command fills it."""

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        errors = {}
        try:
            super().clean_fields(exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        for field in self._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField):
                continue
            if field.name in errors or (exclude and field.name in exclude):
                continue
            value = getattr(self, field.attname)
            multiline = isinstance(field, models.TextField)
            problem = isinstance(value, str) and text_problem(value, multiline=multiline)
            if problem:
                errors[field.name] = [
                    ValidationError(f"{problem[0].upper()}{problem[1:]}.", code="invalid_text")
                ]
        if errors:
            raise ValidationError(errors)


class Publishable(StoredTextRules):
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.DRAFT,
        db_index=True,
        help_text="Only published content is shown to the public API.",
    )
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it went live. Filled in automatically when published.",
    )
    go_live_at = models.DateTimeField(
        "go live at",
        null=True,
        blank=True,
        help_text="If set, published content stays hidden until this time.",
    )
    expire_at = models.DateTimeField(
        "expire at",
        null=True,
        blank=True,
        help_text="If set, published content is hidden again from this time on.",
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was created.")
    updated_at = models.DateTimeField(
        auto_now=True, db_index=True, help_text="When it was last changed."
    )

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.status == Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        if self.go_live_at and self.expire_at and self.expire_at <= self.go_live_at:
            raise ValidationError(
                {"expire_at": "The expiry time must come after the go-live time."},
                code="expires_before_going_live",
            )

    @property
    def surrogate_key(self) -> str:
        """Names this object in CDN cache tags ("term:15"): a change to it purges the key."""
        return self.surrogate_key_of(self.pk)

    @classmethod
    def surrogate_key_of(cls, pk) -> str:
        """The key of the object with primary key `pk`, without loading or making it."""
        return f"{cls._meta.model_name}:{pk}"

    @classmethod
    def list_surrogate_key(cls) -> str:
        """Names every list of this model ("terms"): what a newly visible object purges."""
        return str(cls._meta.verbose_name_plural)

    @property
    def schedule_state(self) -> str:
        """ "scheduled", "expired", "live" (published and inside its schedule) or the status."""
        if self.status != Status.PUBLISHED:
            return self.status
        now = timezone.now()
        if self.go_live_at and self.go_live_at > now:
            return "scheduled"
        if self.expire_at and self.expire_at <= now:
            return "expired"
        return "live"


def published_has_date(prefix: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=~Q(status=Status.PUBLISHED) | Q(published_at__isnull=False),
        name=f"{prefix}_published_has_date",
        violation_error_message="Published content needs a publication date.",
    )


def expires_after_going_live(prefix: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(go_live_at__isnull=True)
        | Q(expire_at__isnull=True)
        | Q(expire_at__gt=models.F("go_live_at")),
        name=f"{prefix}_expires_after_going_live",
        violation_error_message="The expiry time must come after the go-live time.",
    )


class Chapter(Publishable):
    """A chapter of the glossary: a themed group of terms, shown in site order."""

    title = models.CharField(max_length=200, help_text="Shown as the chapter's heading.")
    slug = models.SlugField(
        max_length=200, unique=True, help_text="The chapter's address on the site; keep it stable."
    )
    description = models.TextField(blank=True, help_text="A short introduction to the chapter.")
    position = models.PositiveIntegerField(
        default=0, db_index=True, help_text="Order of the chapter on the site; lower comes first."
    )

    objects = PublishableQuerySet.as_manager()

    class Meta:
        # Related lookups and the GraphQL optimizer's prefetches use the base manager:
        # make it the one whose QuerySet has the visibility methods.
        base_manager_name = "objects"
        ordering = ["position", "title"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(title=""),
                name="chapter_title_not_blank",
                violation_error_message="A chapter needs a title.",
            ),
            published_has_date("chapter"),
            expires_after_going_live("chapter"),
        ]

    def __str__(self):
        return self.title


class TermQuerySet(PublishableQuerySet):
    """Visibility and the predicates that the GraphQL filters and the exports share.

    Each predicate is a `Q` factory (so GraphQL filters can combine them with AND, OR
    and NOT) with a QuerySet method that applies it.
    """

    def published_q(self) -> Q:
        """Live terms of live chapters: a term is no more public than its chapter."""
        return live_q() & live_q("chapter__")

    def previewed_q(self, preview) -> Q | None:
        """A term's preview shows the term; a chapter's preview shows its terms, drafts
        included."""
        if preview.model is Chapter:
            return Q(chapter=preview.pk) & ~Q(status=Status.ARCHIVED)
        return super().previewed_q(preview)

    @staticmethod
    def in_chapter_q(slug: str) -> Q:
        return Q(chapter__slug=slug)

    @staticmethod
    def with_initial_q(letter: str) -> Q:
        """Terms filed under `letter` in the A-Z index ("#" for names starting with a digit)."""
        return Q(initial=letter.upper())

    @staticmethod
    def matching_q(text: str) -> Q:
        """Plain case-insensitive match over the fields people search by."""
        return (
            Q(name__icontains=text)
            | Q(abbreviation__icontains=text)
            | Q(expansion__icontains=text)
            | Q(aliases__icontains=text)
            | Q(definition__icontains=text)
        )

    @staticmethod
    def updated_since_q(moment) -> Q:
        return Q(updated_at__gte=moment)

    def in_chapter(self, slug: str):
        return self.filter(self.in_chapter_q(slug))

    def with_initial(self, letter: str):
        return self.filter(self.with_initial_q(letter))

    def matching(self, text: str):
        return self.filter(self.matching_q(text))

    def updated_since(self, moment):
        return self.filter(self.updated_since_q(moment))


SEO_DESCRIPTION_LENGTH = 160


class Term(Publishable):
    """A glossary entry: a name with the definition the site shows for it."""

    name = models.CharField(max_length=200, help_text="The term as readers know it.")
    slug = models.SlugField(
        max_length=200, unique=True, help_text="The term's address on the site; keep it stable."
    )
    abbreviation = models.CharField(
        max_length=50, blank=True, help_text='Short form, if the term has one (e.g. "LoRA").'
    )
    expansion = models.CharField(
        max_length=200,
        blank=True,
        help_text='What the abbreviation stands for (e.g. "Low-Rank Adaptation").',
    )
    aliases = models.TextField(
        blank=True,
        help_text="Other names people search for, one per line.",
    )
    definition = models.TextField(
        help_text="The one-sentence definition the site shows under the term."
    )
    explanation = models.TextField(
        blank=True,
        help_text="Optional longer explanation shown on the term's own page, in Markdown "
        "(CommonMark). Mentions of other terms become links by themselves.",
    )
    seo_title = models.CharField(
        "SEO title",
        max_length=70,
        blank=True,
        help_text="Title for search engines and link previews; empty: the name, with what "
        "its abbreviation stands for.",
    )
    seo_description = models.CharField(
        "SEO description",
        max_length=SEO_DESCRIPTION_LENGTH,
        blank=True,
        help_text="Description for search engines and link previews; empty: the definition, "
        "shortened to 160 characters.",
    )
    chapter = models.ForeignKey(
        Chapter,
        on_delete=models.PROTECT,
        related_name="terms",
        help_text="The chapter the term belongs to.",
    )
    related_terms = models.ManyToManyField(
        "self",
        through="TermRelation",
        through_fields=("from_term", "to_term"),
        symmetrical=True,
        blank=True,
        help_text='"See also" terms; the link is added in both directions.',
    )
    mentions = models.ManyToManyField(
        "self",
        through="TermMention",
        through_fields=("source", "target"),
        symmetrical=False,
        related_name="mentioned_by",
        blank=True,
        editable=False,
        help_text="Terms that the definition or explanation links to (derived from the text).",
    )
    initial = models.GeneratedField(
        expression=models.Case(
            models.When(In(Left("name", 1), list("0123456789")), then=models.Value("#")),
            default=Upper(Left("name", 1)),
        ),
        output_field=models.CharField(max_length=1),
        db_persist=True,
        help_text='Letter of the A-Z index the term is filed under ("#" for digits).',
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = TermQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"  # see Chapter.Meta
        ordering = [Lower("name"), "pk"]
        indexes = [
            models.Index(Lower("name"), name="term_name_ci_idx"),
            # Search's exact-match rule (name__iexact, abbreviation__iexact) looks these up.
            models.Index(Upper("name"), name="term_name_upper_idx"),
            models.Index(Upper("abbreviation"), name="term_abbreviation_upper_idx"),
            models.Index(fields=["chapter", "status"], name="term_chapter_status_idx"),
            models.Index(fields=["initial"], name="term_initial_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""),
                name="term_name_not_blank",
                violation_error_message="A term needs a name.",
            ),
            models.CheckConstraint(
                condition=~Q(definition=""),
                name="term_definition_not_blank",
                violation_error_message="A term needs a definition.",
            ),
            published_has_date("term"),
            expires_after_going_live("term"),
        ]

    def __str__(self):
        return self.name

    @property
    def alias_list(self) -> list[str]:
        return [alias.strip() for alias in self.aliases.splitlines() if alias.strip()]

    @property
    def page_title(self) -> str:
        """The SEO title: the editors' own, or the name with its expansion."""
        if self.seo_title:
            return self.seo_title
        if self.expansion and self.expansion != self.name:
            return f"{self.name} ({self.expansion})"
        return self.name

    @property
    def page_description(self) -> str:
        """The SEO description: the editors' own, or the definition cut to fit."""
        return self.seo_description or shorten(
            self.definition, SEO_DESCRIPTION_LENGTH, placeholder="…"
        )

    def clean(self):
        super().clean()
        if self.name and not self.name.strip():
            raise ValidationError({"name": "A term needs a name."}, code="blank")
        if self.definition and not self.definition.strip():
            raise ValidationError({"definition": "A term needs a definition."}, code="blank")


class TermRelation(models.Model):
    """One direction of a "see also" link; Django keeps the reverse row in step."""

    # Revisions of a term follow its outgoing links (terms.revisions).
    from_term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="see_also_links")
    to_term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_term", "to_term"], name="term_relation_unique"),
            models.CheckConstraint(
                condition=~Q(from_term=models.F("to_term")),
                name="term_relation_not_self",
                violation_error_message="A term cannot be related to itself.",
            ),
        ]

    def __str__(self):
        return f"{self.from_term} → {self.to_term}"


class PreviewKey(models.Model):
    """A staff member's preview tokens carry their generation; raising it revokes them all
    at once (glossary_backend.preview)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preview_key"
    )
    generation = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"Preview tokens of {self.user}, generation {self.generation}"


class AuditEntry(Version):
    """One object's version in a revision: who changed it, when, how (the revision's
    comment names the path), as the site-wide audit log lists it."""

    class Meta:
        proxy = True
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"


class SearchWord(models.Model):
    """Derived from a term's text by terms.search (one definition, rebuildable): never edit.

    A WORD row says a term holds a word, weighted by the fields that hold it; a PHRASE
    row is a whole name, abbreviation, expansion or alias, for exact matches.
    """

    class Kind(models.IntegerChoices):
        WORD = 1, "word"
        PHRASE = 2, "whole name, abbreviation, expansion or alias"

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="search_words")
    kind = models.PositiveSmallIntegerField(choices=Kind.choices)
    # db_index: on PostgreSQL Django adds the pattern-ops index that prefix matches use.
    text = models.TextField(db_index=True)
    weight = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["term", "kind", "text"], name="search_word_unique")
        ]
        # Search reads every column it needs from this index, never the table.
        indexes = [
            models.Index(fields=["text", "kind", "term", "weight"], name="search_word_lookup_idx")
        ]

    def __str__(self):
        return f"{self.text} ({self.term_id})"


class SearchSpelling(models.Model):
    """Derived by terms.search: a word of names, abbreviations, expansions or aliases and
    its spellings with one letter left out, the keys that typos are looked up by."""

    variant = models.TextField()
    word = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "word"], name="search_spelling_unique")
        ]

    def __str__(self):
        return f"{self.variant} → {self.word}"


class TermMention(models.Model):
    """A term's text links to another term: derived data, one row per pair.

    terms.linking decides what the rows are; terms.services.term_mentions_refresh
    rebuilds them from the terms, and `manage.py refresh_term_mentions --check`
    verifies them. Rows are kept whatever the terms' status: readers filter by what
    the caller may see.
    """

    source = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="term_mention_unique"),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")),
                name="term_mention_not_self",
                violation_error_message="A term never links to itself.",
            ),
        ]

    def __str__(self):
        return f"{self.source} mentions {self.target}"


class ChangeKind(models.TextChoices):
    """What a change did to an object as the public sees it."""

    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNPUBLISHED = "unpublished", "Unpublished"
    DELETED = "deleted", "Deleted"


class ChangeEvent(models.Model):
    """One change the public can see, written by terms.outbox in the transaction of the
    change (the outbox): what changed, the surrogate keys to purge, when. The delivery
    app relays it (CDN purges, webhooks) and serves it as the `changes` sync feed."""

    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    typename = models.CharField(max_length=40, help_text='The GraphQL type ("Term").')
    object_id = models.BigIntegerField(help_text="The object's primary key.")
    slug = models.CharField(max_length=200)
    surrogate_keys = models.JSONField(
        default=list, help_text="The CDN cache tags whose responses the change affects."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    scheduled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The go-live or expiry time this event announces; empty for edits.",
    )
    dispatched_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When the relay purged and queued it."
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = "change event"
        constraints = [
            # A scheduled go-live or expiry is announced once, however often it is looked for.
            models.UniqueConstraint(
                fields=["typename", "object_id", "kind", "scheduled_at"],
                condition=Q(scheduled_at__isnull=False),
                name="change_event_scheduled_once",
            )
        ]

    def __str__(self):
        return f"{self.typename} {self.slug} {self.kind}"


class ChangeFeedHorizon(models.Model):
    """The newest event compacted away: a feed cursor at or before it has lost events."""

    last_compacted_id = models.BigIntegerField(default=0)
    compacted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Events up to {self.last_compacted_id} compacted"
