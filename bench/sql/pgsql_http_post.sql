SELECT status FROM http_post(:url, :body, 'application/json');
