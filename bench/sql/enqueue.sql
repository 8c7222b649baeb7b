-- pg_http outbox: queue one GET; the delivery worker sends it after commit
SELECT http.enqueue('GET', :url);
