"""PostgreSQL only: the vocabulary of term names, abbreviations and aliases, for typos.

Matching the query against every name by trigram word similarity took 20-30 ms at
10,000 terms, for a typo and a correct word alike. The words are few (thousands where
terms are tens of thousands): terms.search finds the vocabulary words within typo
distance of the query's words, then full-text search finds the terms whose name,
abbreviation or aliases hold them, through the search document's index.

Triggers keep the vocabulary: every inserted or updated term adds its words, whatever
wrote it (admin, import, fixtures, SQL). Words are not removed when a term changes; a
stale word can only correct a typo to a word no term has, which matches nothing.
"""

from django.db import migrations

WORDS = "regexp_split_to_table(lower(concat_ws(' ', {0}.name, {0}.abbreviation, {0}.aliases)), '[^[:alnum:]]+')"

FORWARD = f"""
CREATE TABLE terms_search_word (word text PRIMARY KEY);
-- GiST, not GIN: it returns the nearest words first (ORDER BY distance LIMIT n) without
-- computing the similarity of every word.
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

-- Trigram matching moved to the vocabulary: the per-column indexes of 0004 serve nothing.
DROP INDEX term_name_trgm_idx;
DROP INDEX term_abbreviation_trgm_idx;
DROP INDEX term_aliases_trgm_idx;
"""

BACKWARD = """
CREATE INDEX term_name_trgm_idx ON terms_term USING gin (name gin_trgm_ops);
CREATE INDEX term_abbreviation_trgm_idx ON terms_term USING gin (abbreviation gin_trgm_ops);
CREATE INDEX term_aliases_trgm_idx ON terms_term USING gin (aliases gin_trgm_ops);
DROP TRIGGER terms_term_learn_words_on_insert ON terms_term;
DROP TRIGGER terms_term_learn_words_on_update ON terms_term;
DROP FUNCTION terms_term_learn_words();
DROP TABLE terms_search_word;
"""


def run_on_postgresql(sql):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [("terms", "0006_stored_search_document")]

    operations = [migrations.RunPython(run_on_postgresql(FORWARD), run_on_postgresql(BACKWARD))]
