"""The search index as models, the same on every database; PostgreSQL's own goes.

Search used a generated tsvector column on terms_term (0006) and a vocabulary kept by
triggers (0007), both invisible to the models: a searched field's type could not
change on PostgreSQL, and SQLite searched differently. The index is now two tables
that terms.search fills; the terms that exist are indexed after migrating
(terms/apps.py), not here, because a migration must not run live code.
"""

import django.db.models.deletion
from django.db import migrations, models

DROP_POSTGRES_SEARCH = """
DROP TRIGGER terms_term_learn_words_on_insert ON terms_term;
DROP TRIGGER terms_term_learn_words_on_update ON terms_term;
DROP FUNCTION terms_term_learn_words();
DROP TABLE terms_search_word;
DROP INDEX term_search_document_idx;
ALTER TABLE terms_term DROP COLUMN search_document;
"""

WORDS = "regexp_split_to_table(lower(concat_ws(' ', {0}.name, {0}.abbreviation, {0}.aliases)), '[^[:alnum:]]+')"

RESTORE_POSTGRES_SEARCH = f"""
ALTER TABLE terms_term ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('english'::regconfig, COALESCE(name, '')), 'A')
  || setweight(to_tsvector('english'::regconfig, COALESCE(abbreviation, '')), 'A')
  || setweight(to_tsvector('english'::regconfig, COALESCE(expansion, '')), 'B')
  || setweight(to_tsvector('english'::regconfig, COALESCE(aliases, '')), 'B')
  || setweight(to_tsvector('english'::regconfig, COALESCE(definition, '')), 'C')
) STORED;
CREATE INDEX term_search_document_idx ON terms_term USING gin (search_document);
CREATE TABLE terms_search_word (word text PRIMARY KEY);
CREATE INDEX terms_search_word_trgm_idx ON terms_search_word USING gist (word gist_trgm_ops);
CREATE FUNCTION terms_term_learn_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO terms_search_word (word)
  SELECT DISTINCT word FROM changed_terms, {WORDS.format("changed_terms")} AS word
  WHERE length(word) >= 3
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER terms_term_learn_words_on_insert AFTER INSERT ON terms_term
  REFERENCING NEW TABLE AS changed_terms
  FOR EACH STATEMENT EXECUTE FUNCTION terms_term_learn_words();
CREATE TRIGGER terms_term_learn_words_on_update AFTER UPDATE ON terms_term
  REFERENCING NEW TABLE AS changed_terms
  FOR EACH STATEMENT EXECUTE FUNCTION terms_term_learn_words();
INSERT INTO terms_search_word (word)
SELECT DISTINCT word FROM terms_term, {WORDS.format("terms_term")} AS word
WHERE length(word) >= 3
ON CONFLICT DO NOTHING;
"""


def run_on_postgresql(sql):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return operation


class Migration(migrations.Migration):

    dependencies = [
        ('terms', '0009_scheduling_and_previews'),
    ]

    operations = [
        migrations.RunPython(
            run_on_postgresql(DROP_POSTGRES_SEARCH), run_on_postgresql(RESTORE_POSTGRES_SEARCH)
        ),
        migrations.CreateModel(
            name='SearchSpelling',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('variant', models.TextField()),
                ('word', models.TextField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('variant', 'word'), name='search_spelling_unique')],
            },
        ),
        migrations.CreateModel(
            name='SearchWord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.PositiveSmallIntegerField(choices=[(1, 'word'), (2, 'whole name, abbreviation, expansion or alias')])),
                ('text', models.TextField(db_index=True)),
                ('weight', models.PositiveSmallIntegerField()),
                ('term', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='search_words', to='terms.term')),
            ],
            options={
                'indexes': [models.Index(fields=['text', 'kind', 'term', 'weight'], name='search_word_lookup_idx')],
                'constraints': [models.UniqueConstraint(fields=('term', 'kind', 'text'), name='search_word_unique')],
            },
        ),
    ]
