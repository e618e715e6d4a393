"""Benchmark of automatic term links at 5,000 terms, on a throwaway SQLite database.

    python bench/linking.py [--terms 5000] [--repetitions 2000]

Generates terms with two- and three-word names, acronyms, aliases and definitions of
about 30 words that mention several of them, then times: building the linker, linking
and rendering one definition (definitionHtml), rendering an explanation of about 150
words of Markdown, recomputing the whole mention table (what an admin save costs), the
linker's version check (what every request that renders links pays), and a spelling
suggestion (didYouMean) over the vocabulary of every term.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = [
    "model",
    "training",
    "data",
    "learning",
    "agent",
    "policy",
    "reward",
    "token",
    "prompt",
    "vector",
    "memory",
    "tool",
    "planner",
    "context",
    "evaluation",
    "feedback",
    "alignment",
    "gradient",
    "adapter",
    "tuning",
    "retrieval",
    "embedding",
    "decoder",
    "encoder",
    "attention",
    "sampling",
    "routing",
    "caching",
    "batch",
    "schedule",
]


def timed(function, repetitions: int) -> tuple[float, float]:
    """Median and 95th percentile of `function`'s run time, in milliseconds."""
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def make_terms(count: int, rng: random.Random) -> list[dict]:
    names: set[str] = set()
    while len(names) < count:
        size = rng.choice([1, 2, 2, 3])
        names.add(" ".join(rng.choice(WORDS).title() for _ in range(size)) + f" {len(names)}")
    terms = []
    for index, name in enumerate(sorted(names)):
        acronym = "".join(word[0] for word in name.split()).upper() + str(index)
        terms.append(
            {
                "name": name,
                "slug": f"term-{index}",
                "abbreviation": acronym if index % 4 == 0 else "",
                "aliases": f"{name.lower()} method" if index % 5 == 0 else "",
            }
        )
    for term in terms:
        mentioned = [other["name"] for other in rng.sample(terms, 4)]
        filler = [rng.choice(WORDS) for _ in range(22)]
        for position, name in zip((3, 8, 14, 19), mentioned, strict=True):
            filler.insert(position, name.lower() if rng.random() < 0.5 else name)
        term["definition"] = " ".join(filler).capitalize() + "."
    return terms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--terms", type=int, default=5000)
    parser.add_argument("--repetitions", type=int, default=2000)
    options = parser.parse_args()

    database = Path(tempfile.mkdtemp()) / "bench-linking.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glossary_backend.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from terms import linking, search
    from terms.models import Chapter, Status, Term
    from terms.services import term_mentions_refresh

    call_command("migrate", verbosity=0)
    rng = random.Random(17)
    rows = make_terms(options.terms, rng)
    chapter = Chapter.objects.create(
        title="Bench", slug="bench", status=Status.PUBLISHED, published_at="2026-01-01T00:00Z"
    )
    Term.objects.bulk_create(
        Term(chapter=chapter, status=Status.PUBLISHED, published_at="2026-01-01T00:00Z", **row)
        for row in rows
    )

    results = []
    start = time.perf_counter()
    linker = linking.build_linker(Term)
    results.append(
        ("build the linker (all names and plurals)", (time.perf_counter() - start) * 1000, None)
    )

    sample = Term.objects.order_by("?")[:200]
    slugs = {term["pk"]: term["slug"] for term in Term.objects.values("pk", "slug")}
    definitions = [(term.pk, term.definition) for term in sample]
    cycle = iter(definitions * (options.repetitions // len(definitions) + 1))

    def link_definition():
        pk, text = next(cycle)
        links = linking.plain_text_links(linker, text, source_id=pk, visible=slugs.__contains__)
        linking.plain_text_html(text, links, slugs)

    results.append(
        (
            "link and render one definition (definitionHtml)",
            *timed(link_definition, options.repetitions),
        )
    )

    explanation = "\n\n".join(
        f"## Part {n}\n\n"
        + " ".join(text for _, text in definitions[n * 2 : n * 2 + 2])
        + "\n\n`code "
        + definitions[n][1][:20]
        + "`"
        for n in range(3)
    )
    words = len(explanation.split())

    def render_explanation():
        linking.markdown_html(
            linker, explanation, slugs, source_id=None, visible=slugs.__contains__
        )

    results.append(
        (
            f"render an explanation ({words} words of Markdown)",
            *timed(render_explanation, options.repetitions // 10),
        )
    )

    start = time.perf_counter()
    changes = term_mentions_refresh()
    results.append(
        (
            f"fill the mention table ({changes.added} links)",
            (time.perf_counter() - start) * 1000,
            None,
        )
    )
    results.append(
        (
            "recompute and verify the mention table (an admin save)",
            *timed(lambda: term_mentions_refresh(dry_run=True), 3),
        )
    )
    results.append(
        (
            "linker version check (per request that renders links)",
            *timed(lambda: linking.current_linker(Term), 200),
        )
    )

    typo = rows[0]["name"].split()[0].lower()[:-1] + "x"
    results.append(
        (
            f"spelling suggestion for '{typo}' (didYouMean)",
            *timed(lambda: search.did_you_mean(query=typo, user=None), 20),
        )
    )

    print(f"{options.terms} terms, SQLite, Python {sys.version.split()[0]}")
    print("| operation | median ms | p95 ms |")
    print("| --- | ---: | ---: |")
    for label, median, p95 in results:
        print(f"| {label} | {median:.2f} | {'' if p95 is None else f'{p95:.2f}'} |")


if __name__ == "__main__":
    main()
