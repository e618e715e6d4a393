"""Django's PostgreSQL backend with a repair to its migrations, and pooler and replica
awareness.

PostgreSQL refuses to change the type of a column that a stored generated column reads
("cannot alter type of a column used by a generated column"), and Django does not work
around it: widening `Term.name` failed because `Term.initial` is generated from it.
The schema editor here drops the generated columns that read the column, changes it,
and adds them back (PostgreSQL recomputes them) with their indexes.
"""

from django.db.backends.postgresql import base, creation, schema

# Generated columns of a table that read a given column of it.
GENERATED_READERS = """
SELECT generated.attname
FROM pg_depend AS dependency
JOIN pg_attrdef AS expression ON expression.oid = dependency.objid
JOIN pg_attribute AS generated
  ON generated.attrelid = expression.adrelid AND generated.attnum = expression.adnum
JOIN pg_attribute AS source
  ON source.attrelid = dependency.refobjid AND source.attnum = dependency.refobjsubid
WHERE dependency.classid = 'pg_attrdef'::regclass
  AND dependency.refclassid = 'pg_class'::regclass
  AND dependency.refobjid = %s::regclass
  AND source.attname = %s
  AND generated.attgenerated <> ''
"""


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def _alter_field(self, model, old_field, new_field, old_type, new_type, *args, **kwargs):
        readers = []
        if old_type != new_type and old_field.column:
            table = self.quote_name(model._meta.db_table)
            with self.connection.cursor() as cursor:
                cursor.execute(GENERATED_READERS, [table, old_field.column])
                columns = {name for (name,) in cursor.fetchall()}
            readers = [field for field in model._meta.local_fields if field.column in columns]
        for field in readers:
            self.remove_field(model, field)
        super()._alter_field(model, old_field, new_field, old_type, new_type, *args, **kwargs)
        for field in readers:
            self.add_field(model, field)
            for index in model._meta.indexes:
                if field.name in index.fields:
                    self.add_index(model, index)


class DatabaseCreation(creation.DatabaseCreation):
    """Test databases: dropped even while a pooler keeps idle sessions on them; a replica
    (a test mirror of the primary) keeps its own address and reads the test database the
    primary streams to it, instead of becoming a second connection to the primary."""

    def set_as_test_mirror(self, primary_settings_dict):
        if not self.connection.settings_dict.get("REPLICA_OF"):
            return super().set_as_test_mirror(primary_settings_dict)
        self.connection.close()
        self.connection.settings_dict["NAME"] = primary_settings_dict["NAME"]

    def _destroy_test_db(self, test_database_name, verbosity):
        # FORCE (PostgreSQL 13+) ends the sessions a pooler keeps open to the database.
        with self._nodb_cursor() as cursor:
            cursor.execute(
                f"DROP DATABASE {self.connection.ops.quote_name(test_database_name)} WITH (FORCE)"
            )


class DatabaseWrapper(base.DatabaseWrapper):
    """`POOLER = "transaction"` in the settings: behind a transaction pooler (PgBouncer),
    a server-side cursor must not outlive its transaction. Outside one, Django would
    declare it WITH HOLD, which the pooler can hand to another client's session; so
    chunked reads there use an ordinary cursor, and inside a transaction (where exports
    stream, `glossary_backend.database.streaming`) a cursor that ends with it."""

    SchemaEditorClass = DatabaseSchemaEditor
    creation_class = DatabaseCreation

    def chunked_cursor(self):
        if self.settings_dict.get("POOLER") == "transaction" and self.get_autocommit():
            return self.cursor()
        return super().chunked_cursor()
