"""Django's PostgreSQL backend with one repair to its migrations.

PostgreSQL refuses to change the type of a column that a stored generated column reads
("cannot alter type of a column used by a generated column"), and Django does not work
around it: widening `Term.name` failed because `Term.initial` is generated from it.
The schema editor here drops the generated columns that read the column, changes it,
and adds them back (PostgreSQL recomputes them) with their indexes.
"""

from django.db.backends.postgresql import base, schema

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


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
