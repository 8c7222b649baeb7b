SELECT bench.py_http(:url, 'POST', :body);
