-- docker-compose.yml: one database per service (docs/architecture.md: each service owns its data; nobody reads another's tables).
-- Runs once, when the PostgreSQL volume is first initialised.
CREATE DATABASE identity;
CREATE DATABASE tenancy;
CREATE DATABASE billing;
CREATE DATABASE audit;
CREATE DATABASE notify;
