-- The database roles of Archipel on an external PostgreSQL server (what `archipel infra up` does on
-- the local one: shared/infra/pg_roles.py). Run once as an administrator, in the Archipel database:
--
--   psql "$ADMIN_URL" -v db=archipel -v pw_accounts=… -v pw_registration=… -v pw_documents=… \
--        -v pw_results=… -v pw_dossier=… -v pw_auditor=… -v pw_keystore=… -f deploy/postgres-roles.sql
--
-- Then give each service's processes its own password (the role name comes from the service):
--   ARCHIPEL_DB_ROLE_PASSWORD_ACCOUNTS=…  (accounts), …_REGISTRATION, …_DOCUMENTS, …_RESULTS, …_DOSSIER
-- and the audit tools (`archipel audit *`) ARCHIPEL_DB_ROLE_PASSWORD_AUDITOR. DATABASE_URL names the
-- server (its user is replaced by the role). Without these variables every process connects with
-- DATABASE_URL as it is, as before.
--
-- Each service role owns its schema (`<ARCHIPEL_DB_SCHEMA_PREFIX><service>`, created at its first
-- start, or beforehand with `CREATE SCHEMA … AUTHORIZATION archipel_<service>`), runs its migrations
-- there and has no privilege in any other service's schema. The auditor reads every table the
-- service roles create and may write nothing. Idempotent: run it again to change a password.

\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['archipel_accounts', 'archipel_registration',
    'archipel_documents', 'archipel_results', 'archipel_dossier', 'archipel_auditor', 'archipel_keystore']) AS r
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec

ALTER ROLE archipel_accounts LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'pw_accounts';
ALTER ROLE archipel_registration LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'pw_registration';
ALTER ROLE archipel_documents LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'pw_documents';
ALTER ROLE archipel_results LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'pw_results';
ALTER ROLE archipel_dossier LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'pw_dossier';
ALTER ROLE archipel_auditor LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'pw_auditor';
ALTER ROLE archipel_auditor SET default_transaction_read_only = on;
-- The key store of personal data (shared.keystore): its owner makes the schema `keystore` at the first
-- service start and alone destroys keys (`archipel privacy forget`, with ARCHIPEL_DB_ROLE_PASSWORD_KEYSTORE);
-- every process needs the key-encryption key ARCHIPEL_KEYSTORE_KEK (base64 of 32 random bytes).
-- The accounts service's processes also need ARCHIPEL_TOTP_KEK (base64 of 32 random bytes, the same
-- for all of them): it seals the staff's TOTP secrets in its private tables (services.accounts.totp_secrets).
ALTER ROLE archipel_keystore LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'pw_keystore';

REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO archipel_auditor;
GRANT CONNECT, CREATE ON DATABASE :"db"
    TO archipel_accounts, archipel_registration, archipel_documents, archipel_results, archipel_dossier,
    archipel_keystore;

ALTER DEFAULT PRIVILEGES FOR ROLE archipel_accounts, archipel_registration, archipel_documents,
    archipel_results, archipel_dossier GRANT USAGE ON SCHEMAS TO archipel_auditor;
ALTER DEFAULT PRIVILEGES FOR ROLE archipel_accounts, archipel_registration, archipel_documents,
    archipel_results, archipel_dossier GRANT SELECT ON TABLES TO archipel_auditor;

-- Schemas made before the roles (by an administrator's DATABASE_URL) are handed over with
--   ALTER SCHEMA <schema> OWNER TO archipel_<service>;  and each table, sequence and function in it
-- (`archipel infra up` does this for the local server), then
--   GRANT USAGE ON SCHEMA <schema> TO archipel_auditor;
--   GRANT SELECT ON ALL TABLES IN SCHEMA <schema> TO archipel_auditor;
