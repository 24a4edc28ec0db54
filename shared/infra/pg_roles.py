"""The database roles of the local server, made by `archipel infra up` (idempotent):

- the superuser `postgres`, with a password (SCRAM-SHA-256), used by `infra up` and by the test
  fixtures that drop schemas, never by a service;
- one role per service, `archipel_<service>`, which may connect and create schemas: a service's
  process creates its schema at first start (shared.db.create_pool), owns it, runs its migrations in
  it, and is granted nothing in any other service's schema. The name does not depend on the schema
  prefix: one role owns every prefixed schema of its service (the tests' `t<unique>_accounts`);
- `archipel_auditor`, which reads every table the service roles create (default privileges) and
  writes nothing (no CREATE anywhere, and its sessions are read only);
- `archipel_keystore`, owner of the key store of personal data (shared.keystore).

Each password is in a pgpass file `<home>/secrets/pg-<role>` (mode 0600), so that the URLs recorded
and printed carry `?passfile=` and never a password. deploy/postgres-roles.sql does the same on an
external server."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import asyncpg

from shared.db import check_identifier
from shared.settings import SERVICES, Settings

SUPERUSER = "postgres"
AUDITOR = "auditor"
KEYSTORE = "keystore"
ROLE_PREFIX = "archipel_"

HBA = (
    "# Written by `archipel infra up`; edit shared/infra/pg_roles.py instead. Passwords only (SCRAM),\n"
    "# on the Unix socket and on 127.0.0.1 (the server listens on nothing else).\n"
    "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
    "local   all       all                 scram-sha-256\n"
    "host    all       all   127.0.0.1/32  scram-sha-256\n"
)


def secrets_dir(settings: Settings) -> Path:
    return settings.home.resolve() / "secrets"  # beside the Kafka secrets (other file names)


def passfile(settings: Settings, role: str) -> Path:
    """The pgpass file of `role`: a service's name, "auditor", or "postgres" for the superuser."""
    return secrets_dir(settings) / f"pg-{role}"


def role_name(role: str) -> str:
    return SUPERUSER if role == SUPERUSER else check_identifier(f"{ROLE_PREFIX}{role}")


def ensure_password(settings: Settings, role: str) -> str:
    """The role's password, generated (and written in its pgpass file, mode 0600) on first use."""
    path = passfile(settings, role)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_password(path)
    password = secrets.token_hex(24)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(f"*:*:*:{role_name(role)}:{password}\n")
    return password


def read_password(path: Path) -> str:
    password = path.read_text().strip().rsplit(":", 1)[-1]
    if not password:
        raise ValueError(f"no password in {path}")
    return password


def _literal(password: str) -> str:
    if not password.isalnum():
        raise ValueError("a generated password is alphanumeric")
    return f"'{password}'"


def _create(role: str) -> str:
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
        f"THEN CREATE ROLE {role} LOGIN; END IF; END $$"
    )


async def provision(connection: asyncpg.Connection, settings: Settings, database: str) -> None:
    """As the superuser: its password, the auditor and the services' roles with their passwords
    and grants, and the deployment's schemas made before the roles handed over to their service."""
    check_identifier(database)
    await connection.execute(f"ALTER ROLE {SUPERUSER} PASSWORD {_literal(ensure_password(settings, SUPERUSER))}")
    await connection.execute(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC")
    auditor = role_name(AUDITOR)
    await connection.execute(_create(auditor))
    await connection.execute(
        f"ALTER ROLE {auditor} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
        f" PASSWORD {_literal(ensure_password(settings, AUDITOR))}"
    )
    await connection.execute(f"ALTER ROLE {auditor} SET default_transaction_read_only = on")
    await connection.execute(f"GRANT CONNECT ON DATABASE {database} TO {auditor}")
    for service in SERVICES:
        role = role_name(service)
        await connection.execute(_create(role))
        await connection.execute(
            f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
            f" PASSWORD {_literal(ensure_password(settings, service))}"
        )
        await connection.execute(f"GRANT CONNECT, CREATE ON DATABASE {database} TO {role}")
        await connection.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {role} GRANT USAGE ON SCHEMAS TO {auditor}")
        await connection.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {role} GRANT SELECT ON TABLES TO {auditor}")
        await _hand_over(connection, settings.db_schema(service), role, auditor)
    # The key store's owner (shared.keystore): it makes its schema at the first service start and
    # alone destroys keys (`archipel privacy forget`); the services and the auditor get functions only.
    keystore = role_name(KEYSTORE)
    await connection.execute(_create(keystore))
    await connection.execute(
        f"ALTER ROLE {keystore} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
        f" PASSWORD {_literal(ensure_password(settings, KEYSTORE))}"
    )
    await connection.execute(f"GRANT CONNECT, CREATE ON DATABASE {database} TO {keystore}")
    schema = settings.keystore_schema
    await _hand_over(connection, schema, keystore, auditor)  # made before its role: its role's from now on
    if await connection.fetchval("SELECT to_regnamespace($1)", check_identifier(schema)) is not None:
        await connection.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {auditor}")  # functions only


async def _hand_over(connection: asyncpg.Connection, schema: str, role: str, auditor: str) -> None:
    """A schema that a service made as the superuser (before the roles existed) becomes its role's,
    with everything in it; the auditor may read its tables."""
    owner = await connection.fetchval(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", check_identifier(schema)
    )
    if owner is None or owner == role:
        return
    async with connection.transaction():
        await connection.execute(f"ALTER SCHEMA {schema} OWNER TO {role}")
        relations = await connection.fetch(
            "SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = $1::regnamespace"
            " AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND NOT EXISTS (SELECT FROM pg_depend d"
            " WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))",
            schema,
        )
        for relation in relations:
            kind = {"S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW"}.get(relation["relkind"], "TABLE")
            await connection.execute(f'ALTER {kind} {schema}."{relation["relname"]}" OWNER TO {role}')
        functions = await connection.fetch(
            "SELECT p.oid::regprocedure::text AS signature FROM pg_proc p WHERE p.pronamespace = $1::regnamespace",
            schema,
        )
        for function in functions:
            await connection.execute(f"ALTER ROUTINE {function['signature']} OWNER TO {role}")
        await connection.execute(f"GRANT USAGE ON SCHEMA {schema} TO {auditor}")
        await connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {auditor}")
