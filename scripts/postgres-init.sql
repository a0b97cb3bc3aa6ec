-- docker-compose.yml: one database per service (DESIGN.md §2: nobody reads another's).
-- Runs once, when the PostgreSQL volume is first initialised.
CREATE DATABASE identity;
CREATE DATABASE tenancy;
CREATE DATABASE billing;
CREATE DATABASE audit;
CREATE DATABASE notify;
