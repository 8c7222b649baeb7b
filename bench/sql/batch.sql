-- pg_http batch: requests is a JSON array of request documents
SELECT count(*) FILTER (WHERE status = 200) FROM http.batch(:requests::jsonb);
