"""BM25 keyword ranking: each chunk's length and per-base term statistics, kept exact by triggers.

A chunk counts towards its base's statistics while it is searchable: enabled, with a keyword vector, in a ready
document. The triggers are statement-level with transition tables, so a bulk insert or a re-index pays one upsert per
statement, not one per row; each upsert touches its terms in sorted order, so two ingestions into one base wait for
each other rather than deadlock.
"""

from django.db import migrations, models

LENGTH_FUNCTION = """
CREATE OR REPLACE FUNCTION rag_tsvector_length(v tsvector) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(coalesce(array_length(positions, 1), 1)), 0)::integer FROM unnest(v)
$$;
"""

TRIGGERS = """
CREATE TYPE rag_keyword_delta AS (kb bigint, vector tsvector, length integer, sign integer);

CREATE OR REPLACE FUNCTION rag_keyword_apply(deltas rag_keyword_delta[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO rag_keywordcorpus AS k (knowledge_base_id, chunks, tokens)
    SELECT d.kb, sum(d.sign), sum(d.sign * d.length) FROM unnest(deltas) d GROUP BY d.kb ORDER BY d.kb
    ON CONFLICT (knowledge_base_id)
    DO UPDATE SET chunks = k.chunks + EXCLUDED.chunks, tokens = k.tokens + EXCLUDED.tokens;
    INSERT INTO rag_keywordterm AS t (knowledge_base_id, term, df)
    SELECT d.kb, w.term, sum(d.sign) FROM unnest(deltas) d, unnest(tsvector_to_array(d.vector)) AS w(term)
    GROUP BY d.kb, w.term HAVING sum(d.sign) <> 0 ORDER BY d.kb, w.term
    ON CONFLICT (knowledge_base_id, term) DO UPDATE SET df = t.df + EXCLUDED.df;
$$;

CREATE OR REPLACE FUNCTION rag_keyword_chunk_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    deltas rag_keyword_delta[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(ROW(n.knowledge_base_id, n.search_vector, n.term_count, 1)::rag_keyword_delta) INTO deltas
        FROM new_rows n JOIN rag_document d ON d.id = n.document_id
        WHERE d.status = 'ready' AND NOT n.is_disabled AND n.search_vector IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(ROW(o.knowledge_base_id, o.search_vector, o.term_count, -1)::rag_keyword_delta) INTO deltas
        FROM old_rows o JOIN rag_document d ON d.id = o.document_id
        WHERE d.status = 'ready' AND NOT o.is_disabled AND o.search_vector IS NOT NULL;
    ELSE
        SELECT array_agg(s.delta) INTO deltas FROM (
            SELECT ROW(o.knowledge_base_id, o.search_vector, o.term_count, -1)::rag_keyword_delta AS delta
            FROM old_rows o JOIN new_rows n ON n.id = o.id JOIN rag_document d ON d.id = o.document_id
            WHERE d.status = 'ready' AND NOT o.is_disabled AND o.search_vector IS NOT NULL
              AND (o.search_vector IS DISTINCT FROM n.search_vector OR o.is_disabled <> n.is_disabled)
            UNION ALL
            SELECT ROW(n.knowledge_base_id, n.search_vector, n.term_count, 1)::rag_keyword_delta
            FROM old_rows o JOIN new_rows n ON n.id = o.id JOIN rag_document d ON d.id = n.document_id
            WHERE d.status = 'ready' AND NOT n.is_disabled AND n.search_vector IS NOT NULL
              AND (o.search_vector IS DISTINCT FROM n.search_vector OR o.is_disabled <> n.is_disabled)
        ) s;
    END IF;
    IF deltas IS NOT NULL THEN
        PERFORM rag_keyword_apply(deltas);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION rag_keyword_document_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    deltas rag_keyword_delta[];
BEGIN
    SELECT array_agg(ROW(c.knowledge_base_id, c.search_vector, c.term_count,
                         CASE WHEN n.status = 'ready' THEN 1 ELSE -1 END)::rag_keyword_delta) INTO deltas
    FROM old_rows o JOIN new_rows n ON n.id = o.id JOIN rag_chunk c ON c.document_id = n.id
    WHERE (o.status = 'ready') <> (n.status = 'ready') AND NOT c.is_disabled AND c.search_vector IS NOT NULL;
    IF deltas IS NOT NULL THEN
        PERFORM rag_keyword_apply(deltas);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION rag_keyword_base_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM rag_keywordterm WHERE knowledge_base_id IN (SELECT id FROM old_rows);
    DELETE FROM rag_keywordcorpus WHERE knowledge_base_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER rag_chunk_keyword_insert AFTER INSERT ON rag_chunk REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_keyword_chunk_changed();
CREATE TRIGGER rag_chunk_keyword_update AFTER UPDATE ON rag_chunk
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_keyword_chunk_changed();
CREATE TRIGGER rag_chunk_keyword_delete AFTER DELETE ON rag_chunk REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_keyword_chunk_changed();
CREATE TRIGGER rag_document_keyword_update AFTER UPDATE ON rag_document
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_keyword_document_changed();
CREATE TRIGGER rag_knowledgebase_keyword_delete AFTER DELETE ON rag_knowledgebase REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_keyword_base_deleted();

SELECT rag_keyword_apply(array_agg(ROW(c.knowledge_base_id, c.search_vector, c.term_count, 1)::rag_keyword_delta))
FROM rag_chunk c JOIN rag_document d ON d.id = c.document_id
WHERE d.status = 'ready' AND NOT c.is_disabled AND c.search_vector IS NOT NULL;
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS rag_knowledgebase_keyword_delete ON rag_knowledgebase;
DROP TRIGGER IF EXISTS rag_document_keyword_update ON rag_document;
DROP TRIGGER IF EXISTS rag_chunk_keyword_delete ON rag_chunk;
DROP TRIGGER IF EXISTS rag_chunk_keyword_update ON rag_chunk;
DROP TRIGGER IF EXISTS rag_chunk_keyword_insert ON rag_chunk;
DROP FUNCTION IF EXISTS rag_keyword_base_deleted();
DROP FUNCTION IF EXISTS rag_keyword_document_changed();
DROP FUNCTION IF EXISTS rag_keyword_chunk_changed();
DROP FUNCTION IF EXISTS rag_keyword_apply(rag_keyword_delta[]);
DROP TYPE IF EXISTS rag_keyword_delta;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rag", "0005_answer_error_detail"),
    ]

    operations = [
        migrations.RunSQL(LENGTH_FUNCTION, "DROP FUNCTION IF EXISTS rag_tsvector_length(tsvector)"),
        migrations.AddField(
            model_name="chunk",
            name="term_count",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Func(
                    "search_vector", function="rag_tsvector_length", output_field=models.IntegerField()
                ),
                output_field=models.IntegerField(),
            ),
        ),
        migrations.CreateModel(
            name="KeywordCorpus",
            fields=[
                (
                    "knowledge_base",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="rag.knowledgebase",
                    ),
                ),
                ("chunks", models.BigIntegerField(default=0, help_text="Searchable chunks in the base.")),
                ("tokens", models.BigIntegerField(default=0, help_text="Their total length in indexed words.")),
            ],
        ),
        migrations.CreateModel(
            name="KeywordTerm",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "knowledge_base_id", "term", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("term", models.TextField()),
                ("df", models.IntegerField(default=0, help_text="Searchable chunks that contain the term.")),
                (
                    "knowledge_base",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to="rag.knowledgebase",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
