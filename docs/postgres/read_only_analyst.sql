-- A PostgreSQL role that can read the DuckLake catalog and nothing else (README: "A read-only analyst").
-- Run it as the role auditlake writes with, connected to the catalog database, after the first write (the catalog
-- schema exists then). Roles belong to the whole cluster: pick a name per lake if one cluster holds several.
--   psql "dbname=lake host=db user=auditlake" -v analyst=auditlake_analyst -v analyst_password='...' \
--        -f docs/postgres/read_only_analyst.sql
CREATE ROLE :"analyst" LOGIN PASSWORD :'analyst_password';
-- Even a statement that slipped past the grants runs in a read-only transaction.
ALTER ROLE :"analyst" SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE :"DBNAME" TO :"analyst";
GRANT USAGE ON SCHEMA auditlake_lake TO :"analyst";
GRANT SELECT ON ALL TABLES IN SCHEMA auditlake_lake TO :"analyst";
-- Tables DuckLake adds to its catalog later (a DuckLake upgrade) are readable too.
ALTER DEFAULT PRIVILEGES IN SCHEMA auditlake_lake GRANT SELECT ON TABLES TO :"analyst";
