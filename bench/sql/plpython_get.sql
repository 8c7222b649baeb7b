-- the PL/Python peer: urllib from a plpython3u function
SELECT bench.py_http(:url, 'GET', NULL);
