"""The authorship log is append-only in the database itself: UPDATE and DELETE of a leaf, a checkpoint or a
time-stamp are refused by a trigger, whatever code (or admin, or shell) tries. TRUNCATE (test database flushes) is
a statement-level operation the row triggers do not see."""

from django.db import migrations

TABLES = ["provenance_logleaf", "provenance_checkpoint", "provenance_checkpointtimestamp"]

FORWARD = """
CREATE FUNCTION provenance_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$;
""" + "".join(
    f"""
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION provenance_refuse_change();
"""
    for table in TABLES
)

BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};\n" for table in TABLES) + (
    "DROP FUNCTION IF EXISTS provenance_refuse_change();\n"
)


class Migration(migrations.Migration):
    dependencies = [("provenance", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
