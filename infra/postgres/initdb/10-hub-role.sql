-- Runs once, when the postgres container starts on an empty data volume (as the `postgres`
-- superuser, through psql; \getenv needs psql 15+). The hub connects as `hub`: a login role that
-- is not a superuser, cannot create roles or databases, and owns only the `hub` database.
\getenv hub_password POSTGRES_HUB_PASSWORD
CREATE ROLE hub LOGIN PASSWORD :'hub_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE hub OWNER hub;
REVOKE ALL ON DATABASE hub FROM PUBLIC;
