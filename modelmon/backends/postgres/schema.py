"""The PostgreSQL tables of the ``postgres`` backend, created once per schema under an advisory lock.

``modelmon_kv_increment`` adds numbers inside the statement that checks a condition, so an update with
increments stays one statement; it raises SQLSTATE :data:`INCREMENT_ERROR` for an attribute that holds
something other than a number (the caller turns it into ``ValueError``).
"""

from __future__ import annotations

SCHEMA_VERSION = 1
META_TABLE = "modelmon_meta"
#: The advisory lock key that serialises schema creation by several processes (any fixed 64-bit number).
SCHEMA_LOCK = 0x6D6F64656C6D6F6E
#: SQLSTATE raised by ``modelmon_kv_increment`` (a custom class, outside PostgreSQL's own codes).
INCREMENT_ERROR = "MMKV1"

STATEMENTS = (
    f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key text PRIMARY KEY, value text NOT NULL)",
    # keys compare as code points (COLLATE "C"), as Python's str does: scan pages come in that order
    """CREATE TABLE IF NOT EXISTS modelmon_kv (
        tbl text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, item jsonb NOT NULL,
        PRIMARY KEY (tbl, key))""",
    """CREATE TABLE IF NOT EXISTS modelmon_tsdb_tables (
        id serial PRIMARY KEY, name text NOT NULL UNIQUE, labels jsonb, columns jsonb NOT NULL DEFAULT '[]')""",
    f"""CREATE OR REPLACE FUNCTION modelmon_kv_increment(item jsonb, steps jsonb) RETURNS jsonb
        LANGUAGE plpgsql IMMUTABLE AS $$
    DECLARE
        attr text;
        step jsonb;
        current jsonb;
    BEGIN
        FOR attr, step IN SELECT * FROM jsonb_each(steps) LOOP
            current := item -> attr;
            IF current IS NULL OR jsonb_typeof(current) = 'null' THEN
                item := item || jsonb_build_object(attr, step);
            ELSIF jsonb_typeof(current) = 'number' THEN
                item := item || jsonb_build_object(attr, current::numeric + step::numeric);
            ELSE
                RAISE EXCEPTION 'cannot increment %, it holds %', to_json(attr)::text, current::text
                    USING ERRCODE = '{INCREMENT_ERROR}';
            END IF;
        END LOOP;
        RETURN item;
    END $$""",
)
