-- the database floor
SELECT 1;
