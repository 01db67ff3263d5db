"""The event store is the audit history: PostgreSQL refuses to update or delete its rows."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events_eventrecord is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER events_eventrecord_append_only
    BEFORE UPDATE OR DELETE ON events_eventrecord
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS events_eventrecord_append_only ON events_eventrecord;
DROP FUNCTION IF EXISTS events_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
