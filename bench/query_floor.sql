-- The hand-written floor for bench/query.py: hybrid search in one round trip, doing the work search() does in
-- PostgreSQL and Python together: the same HNSW vector query, the same BM25 over the same term statistics with the
-- same MaxScore passes (rag/services/bm25.py), the same weighted fusion, tie order and top k, and the hits' text
-- and provenance. Created per session in pg_temp; nothing here is part of the product.

CREATE OR REPLACE FUNCTION pg_temp.floor_tsquery(words text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg('''' || replace(replace(w, '\', '\\'), '''', '''''') || '''', ' | ') FROM unnest(words) w
$$;

CREATE OR REPLACE FUNCTION pg_temp.hybrid_floor(
    kb bigint, model bigint, dims int, qvec text, qtext text, cfg regconfig, pool int, top_k int, wv float8,
    wk float8, first_pass bigint, k1 float8, b float8)
RETURNS TABLE (chunk_id bigint, fused float8, chunk_text text, document_uuid uuid, external_id text, title text,
               page int, heading_path text, char_start int, char_end int, source_name text)
LANGUAGE plpgsql AS $fn$
DECLARE
    ready text := format('c.knowledge_base_id = %s AND NOT c.is_disabled AND d.status = %L', kb, 'ready');
    v_ids bigint[]; v_scores float8[];
    terms text[]; weights float8[]; dfs bigint[];
    n bigint; tokens bigint; avgdl float8;
    split int := 1; postings bigint; before int; threshold float8; rest float8;
    k_ids bigint[] := '{}'; k_scores float8[] := '{}'; more_ids bigint[]; more_scores float8[];
    score_sql text := 'SELECT coalesce(array_agg(id ORDER BY score DESC, id), ''{}''), '
        'coalesce(array_agg(score ORDER BY score DESC, id), ''{}'') FROM ('
        'SELECT c.id, sum(w.weight * u.tf / (u.tf + $1 * (1 - $2 + $2 * c.term_count / $3))) AS score '
        'FROM rag_chunk c JOIN rag_document d ON d.id = c.document_id CROSS JOIN LATERAL ('
        '  SELECT lexeme, coalesce(array_length(positions, 1), 1)::float8 AS tf '
        '  FROM unnest(ts_filter(setweight(c.search_vector, ''A'', $4), ''{a}''))) u '
        'JOIN unnest($4, $5) AS w(term, weight) ON w.term = u.lexeme '
        'WHERE c.search_vector @@ $6::tsquery %s AND ' || ready ||
        ' GROUP BY c.id ORDER BY score DESC, c.id LIMIT $8) s';
BEGIN
    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', '100', true);
    -- Literal model and base ids, as search() sends them: the partial HNSW index is only chosen when the planner
    -- sees the model id.
    EXECUTE format(
        'SELECT array_agg(id ORDER BY distance), array_agg(1 - distance ORDER BY distance) FROM ('
        'SELECT e.chunk_id AS id, e.embedding::vector(%1$s) <=> $1::vector(%1$s) AS distance '
        'FROM rag_chunkembedding e JOIN rag_chunk c ON c.id = e.chunk_id JOIN rag_document d ON d.id = c.document_id '
        'WHERE e.model_id = %2$s AND e.knowledge_base_id = %3$s AND %4$s ORDER BY distance LIMIT %5$s) v',
        dims, model, kb, ready, pool)
    INTO v_ids, v_scores USING qvec;

    -- The query's words with their statistics, rarest first (the order bm25.plan sorts them in).
    SELECT k.chunks, k.tokens INTO n, tokens FROM rag_keywordcorpus k WHERE k.knowledge_base_id = kb;
    n := coalesce(n, 0);
    avgdl := CASE WHEN n > 0 THEN tokens::float8 / n::float8 ELSE 0 END;
    SELECT array_agg(term ORDER BY idf DESC, term COLLATE "C"), array_agg(qtf * idf ORDER BY idf DESC, term COLLATE "C"),
           array_agg(df ORDER BY idf DESC, term COLLATE "C")
    INTO terms, weights, dfs FROM (
        SELECT q.lexeme AS term, coalesce(array_length(q.positions, 1), 1)::float8 AS qtf, t.df::bigint AS df,
               ln(1.0::float8 + ((n - t.df)::float8 + 0.5::float8) / (t.df::float8 + 0.5::float8)) AS idf
        FROM unnest(to_tsvector(cfg, qtext)) q
        JOIN rag_keywordterm t ON t.knowledge_base_id = kb AND t.term = q.lexeme AND t.df > 0) p;

    IF terms IS NOT NULL THEN
        -- MaxScore as bm25.search does it: the rarest words first, then more words while the rest could still enter.
        postings := dfs[1];
        WHILE split < cardinality(terms) AND postings + dfs[split + 1] <= first_pass LOOP
            split := split + 1;
            postings := postings + dfs[split];
        END LOOP;
        EXECUTE format(score_sql, '') INTO k_ids, k_scores
            USING k1, b, coalesce(nullif(avgdl, 0), 1.0), terms, weights, pg_temp.floor_tsquery(terms[1:split]),
                  NULL::text, pool;
        WHILE split < cardinality(terms) LOOP
            threshold := CASE WHEN cardinality(k_scores) >= pool THEN k_scores[pool] ELSE 0 END;
            SELECT sum(x) INTO rest FROM unnest(weights[split + 1:]) x;
            EXIT WHEN rest <= threshold;
            before := split;
            LOOP
                SELECT sum(x) INTO rest FROM unnest(weights[split + 1:]) x;
                EXIT WHEN split >= cardinality(terms) OR rest <= threshold;
                split := split + 1;
            END LOOP;
            EXECUTE format(score_sql, 'AND NOT c.search_vector @@ $7::tsquery') INTO more_ids, more_scores
                USING k1, b, coalesce(nullif(avgdl, 0), 1.0), terms, weights,
                      pg_temp.floor_tsquery(terms[before + 1:split]), pg_temp.floor_tsquery(terms[1:before]), pool;
            SELECT array_agg(i ORDER BY s DESC, i), array_agg(s ORDER BY s DESC, i) INTO k_ids, k_scores
            FROM (SELECT i, s FROM unnest(k_ids || more_ids, k_scores || more_scores) x(i, s)
                  ORDER BY s DESC, i LIMIT pool) top;
        END LOOP;
    END IF;

    -- Weighted fusion of min-max normalised scores; ties as Fused.order_key, then vector rank, then keyword rank.
    RETURN QUERY
    WITH v AS (SELECT i, s, r FROM unnest(v_ids, v_scores) WITH ORDINALITY x(i, s, r)),
    k AS (SELECT i, s, r FROM unnest(k_ids, k_scores) WITH ORDINALITY x(i, s, r)),
    vn AS (SELECT i, s, r, wv / (wv + wk) * CASE WHEN max(s) OVER () > min(s) OVER ()
                      THEN (s - min(s) OVER ()) / (max(s) OVER () - min(s) OVER ()) ELSE 1.0 END AS part FROM v),
    kn AS (SELECT i, s, r, wk / (wv + wk) * CASE WHEN max(s) OVER () > min(s) OVER ()
                      THEN (s - min(s) OVER ()) / (max(s) OVER () - min(s) OVER ()) ELSE 1.0 END AS part FROM k),
    f AS (SELECT coalesce(vn.i, kn.i) AS i, coalesce(vn.part, 0) + coalesce(kn.part, 0) AS fused,
                 greatest(coalesce(vn.part, 0), coalesce(kn.part, 0)) AS strongest, coalesce(vn.s, -2) AS vs,
                 coalesce(kn.s, 0) AS ks, vn.r AS vr, kn.r AS kr
          FROM vn FULL JOIN kn ON kn.i = vn.i
          ORDER BY fused DESC, strongest DESC, vs DESC, ks DESC, vr NULLS LAST, kr LIMIT top_k)
    SELECT f.i, f.fused, c.text, d.uuid, d.external_id::text, coalesce(nullif(d.title, ''), d.external_id)::text,
           c.page, c.heading_path::text, c.char_start, c.char_end, src.name::text
    FROM f JOIN rag_chunk c ON c.id = f.i JOIN rag_document d ON d.id = c.document_id
    JOIN rag_datasource src ON src.id = d.source_id
    ORDER BY f.fused DESC, f.strongest DESC, f.vs DESC, f.ks DESC, f.vr NULLS LAST, f.kr;
END
$fn$;
