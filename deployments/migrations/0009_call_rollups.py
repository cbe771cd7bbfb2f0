"""Hourly rollups of the call log, kept exact by statement-level triggers on every insert, update and delete.

``deployments_latency_bucket(ms)`` is the bucket layout ``deployments.rollups`` reads back: 16 buckets per
doubling from 2^-10 ms (bucket 0 holds everything below) up to 2^30 ms (bucket 641 holds everything above), so a
bucket's upper bound is at most 2^(1/16), about 4.4 %, above its lower one. Existing calls are rolled up here once.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models


BUCKET_FUNCTION = """
CREATE FUNCTION deployments_latency_bucket(ms double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN ms IS NULL THEN NULL WHEN ms < 0.0009765625 THEN 0
                  ELSE least(641, 1 + floor(16 * (ln(ms) / ln(2.0::float8) + 10)))::smallint END $$;
"""

# Deleted and replaced rows are subtracted from rollup rows that exist (never inserted: the deployment may be going
# away in the same transaction); inserted and new versions of rows are added with an upsert. Keys are taken in order
# so two writers touching the same hours lock them in the same order.
ROLLUP_FUNCTION = """
CREATE FUNCTION deployments_modelcall_rollup() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    -- each touched hour's sums, and its histograms as they stand in the bucket table (already brought up to date)
    totals constant text := $q$
        SELECT c.*, a.* FROM (
            SELECT deployment_id, date_bin('1 hour', created_at, '2000-01-03 00:00:00+00') AS hour,
                   count(*) AS calls, count(*) FILTER (WHERE status <> 'ok') AS errors,
                   coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
                   coalesce(sum(completion_tokens), 0) AS completion_tokens,
                   coalesce(sum(ttft_ms) FILTER (WHERE status = 'ok'), 0) AS prefill_ms,
                   coalesce(sum(total_ms - ttft_ms) FILTER (WHERE status = 'ok'), 0) AS decode_ms,
                   count(gap_mean_ms) FILTER (WHERE status = 'ok') AS timed_calls
            FROM %1$I GROUP BY 1, 2
        ) c CROSS JOIN LATERAL (
            SELECT array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 1) AS ttft_buckets,
                   array_agg(calls ORDER BY bucket) FILTER (WHERE metric = 1) AS ttft_counts,
                   array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 2) AS itl_buckets,
                   array_agg(calls ORDER BY bucket) FILTER (WHERE metric = 2) AS itl_counts,
                   array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 3) AS e2e_buckets,
                   array_agg(calls ORDER BY bucket) FILTER (WHERE metric = 3) AS e2e_counts
            FROM deployments_modelcallhourbucket b
            WHERE b.deployment_id = c.deployment_id AND b.hour = c.hour AND b.calls > 0
        ) a ORDER BY 1, 2 $q$;
    buckets constant text := $q$
        SELECT c.deployment_id, date_bin('1 hour', c.created_at, '2000-01-03 00:00:00+00') AS hour, m.metric,
               deployments_latency_bucket(m.v) AS bucket, count(*) AS calls
        FROM %1$I c CROSS JOIN LATERAL (VALUES (1, c.ttft_ms), (2, c.gap_mean_ms), (3, c.total_ms)) AS m(metric, v)
        WHERE c.status = 'ok' AND m.v IS NOT NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 $q$;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        EXECUTE format($q$
            UPDATE deployments_modelcallhourbucket b SET calls = b.calls - o.calls
            FROM ($q$ || buckets || $q$) o
            WHERE b.deployment_id = o.deployment_id AND b.hour = o.hour AND b.metric = o.metric
              AND b.bucket = o.bucket $q$, 'old_rows');
        EXECUTE format($q$
            UPDATE deployments_modelcallhour h SET calls = h.calls - o.calls, errors = h.errors - o.errors,
                   prompt_tokens = h.prompt_tokens - o.prompt_tokens,
                   completion_tokens = h.completion_tokens - o.completion_tokens,
                   prefill_ms = h.prefill_ms - o.prefill_ms, decode_ms = h.decode_ms - o.decode_ms,
                   timed_calls = h.timed_calls - o.timed_calls, ttft_buckets = o.ttft_buckets,
                   ttft_counts = o.ttft_counts, itl_buckets = o.itl_buckets, itl_counts = o.itl_counts,
                   e2e_buckets = o.e2e_buckets, e2e_counts = o.e2e_counts
            FROM ($q$ || totals || $q$) o WHERE h.deployment_id = o.deployment_id AND h.hour = o.hour $q$, 'old_rows');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format($q$
            INSERT INTO deployments_modelcallhourbucket AS b (deployment_id, hour, metric, bucket, calls) $q$
            || buckets || $q$
            ON CONFLICT (deployment_id, hour, metric, bucket) DO UPDATE SET calls = b.calls + excluded.calls $q$,
            'new_rows');
        EXECUTE format($q$
            INSERT INTO deployments_modelcallhour AS h (deployment_id, hour, calls, errors, prompt_tokens,
                completion_tokens, prefill_ms, decode_ms, timed_calls, ttft_buckets, ttft_counts, itl_buckets,
                itl_counts, e2e_buckets, e2e_counts) $q$ || totals || $q$
            ON CONFLICT (deployment_id, hour) DO UPDATE SET calls = h.calls + excluded.calls,
                errors = h.errors + excluded.errors, prompt_tokens = h.prompt_tokens + excluded.prompt_tokens,
                completion_tokens = h.completion_tokens + excluded.completion_tokens,
                prefill_ms = h.prefill_ms + excluded.prefill_ms, decode_ms = h.decode_ms + excluded.decode_ms,
                timed_calls = h.timed_calls + excluded.timed_calls, ttft_buckets = excluded.ttft_buckets,
                ttft_counts = excluded.ttft_counts, itl_buckets = excluded.itl_buckets,
                itl_counts = excluded.itl_counts, e2e_buckets = excluded.e2e_buckets,
                e2e_counts = excluded.e2e_counts $q$, 'new_rows');
    END IF;
    RETURN NULL;
END
$body$;

CREATE TRIGGER deployments_modelcall_rollup_insert AFTER INSERT ON deployments_modelcall
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deployments_modelcall_rollup();
CREATE TRIGGER deployments_modelcall_rollup_update AFTER UPDATE ON deployments_modelcall
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION deployments_modelcall_rollup();
CREATE TRIGGER deployments_modelcall_rollup_delete AFTER DELETE ON deployments_modelcall
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION deployments_modelcall_rollup();
"""

BACKFILL = """
INSERT INTO deployments_modelcallhourbucket (deployment_id, hour, metric, bucket, calls)
SELECT c.deployment_id, date_bin('1 hour', c.created_at, '2000-01-03 00:00:00+00'), m.metric,
       deployments_latency_bucket(m.v), count(*)
FROM deployments_modelcall c
CROSS JOIN LATERAL (VALUES (1, c.ttft_ms), (2, c.gap_mean_ms), (3, c.total_ms)) AS m(metric, v)
WHERE c.status = 'ok' AND m.v IS NOT NULL GROUP BY 1, 2, 3, 4;
ANALYZE deployments_modelcallhourbucket;
INSERT INTO deployments_modelcallhour (deployment_id, hour, calls, errors, prompt_tokens, completion_tokens,
    prefill_ms, decode_ms, timed_calls, ttft_buckets, ttft_counts, itl_buckets, itl_counts, e2e_buckets, e2e_counts)
SELECT c.*, a.* FROM (
    SELECT deployment_id, date_bin('1 hour', created_at, '2000-01-03 00:00:00+00') AS hour, count(*),
           count(*) FILTER (WHERE status <> 'ok'), coalesce(sum(prompt_tokens), 0),
           coalesce(sum(completion_tokens), 0), coalesce(sum(ttft_ms) FILTER (WHERE status = 'ok'), 0),
           coalesce(sum(total_ms - ttft_ms) FILTER (WHERE status = 'ok'), 0),
           count(gap_mean_ms) FILTER (WHERE status = 'ok')
    FROM deployments_modelcall GROUP BY 1, 2
) c CROSS JOIN LATERAL (
    SELECT array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 1),
           array_agg(calls ORDER BY bucket) FILTER (WHERE metric = 1),
           array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 2),
           array_agg(calls ORDER BY bucket) FILTER (WHERE metric = 2),
           array_agg(bucket ORDER BY bucket) FILTER (WHERE metric = 3),
           array_agg(calls ORDER BY bucket) FILTER (WHERE metric = 3)
    FROM deployments_modelcallhourbucket b WHERE b.deployment_id = c.deployment_id AND b.hour = c.hour
) a;
"""

DROP = """
DROP TRIGGER deployments_modelcall_rollup_insert ON deployments_modelcall;
DROP TRIGGER deployments_modelcall_rollup_update ON deployments_modelcall;
DROP TRIGGER deployments_modelcall_rollup_delete ON deployments_modelcall;
DROP FUNCTION deployments_modelcall_rollup();
DROP FUNCTION deployments_latency_bucket(double precision);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('deployments', '0008_load_tests'),
    ]

    operations = [
        migrations.CreateModel(
            name='ModelCallHour',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.DateTimeField()),
                ('calls', models.IntegerField(default=0)),
                ('errors', models.IntegerField(default=0)),
                ('prompt_tokens', models.BigIntegerField(default=0)),
                ('completion_tokens', models.BigIntegerField(default=0)),
                ('prefill_ms', models.FloatField(default=0.0, help_text='Sum of time to first token of the successful calls.')),
                ('decode_ms', models.FloatField(default=0.0, help_text='Sum of end-to-end minus time to first token, same calls.')),
                ('timed_calls', models.IntegerField(default=0, help_text='Successful calls with a mean inter-token gap.')),
                ('ttft_buckets', django.contrib.postgres.fields.ArrayField(base_field=models.SmallIntegerField(), null=True, size=None)),
                ('ttft_counts', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), null=True, size=None)),
                ('itl_buckets', django.contrib.postgres.fields.ArrayField(base_field=models.SmallIntegerField(), null=True, size=None)),
                ('itl_counts', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), null=True, size=None)),
                ('e2e_buckets', django.contrib.postgres.fields.ArrayField(base_field=models.SmallIntegerField(), null=True, size=None)),
                ('e2e_counts', django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), null=True, size=None)),
                ('deployment', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='deployments.deployment')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('deployment', 'hour'), name='modelcallhour_unique')],
            },
        ),
        migrations.CreateModel(
            name='ModelCallHourBucket',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.DateTimeField()),
                ('metric', models.SmallIntegerField(choices=[(1, 'time to first token'), (2, 'mean inter-token gap'), (3, 'end to end')])),
                ('bucket', models.SmallIntegerField()),
                ('calls', models.IntegerField(default=0)),
                ('deployment', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='deployments.deployment')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('deployment', 'hour', 'metric', 'bucket'), name='modelcallhourbucket_unique', include=('calls',))],
            },
        ),
        migrations.RunSQL(BUCKET_FUNCTION + ROLLUP_FUNCTION, reverse_sql=DROP),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
