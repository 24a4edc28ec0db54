"""The key store of personal data (issue 13 part 7): one data key per subject (a candidate), in a
schema of its own (`keystore` by default, ARCHIPEL_KEYSTORE_SCHEMA; one per database, whatever the
services' schema prefix) owned by its own role, `archipel_keystore`.

- Data keys (AES-256) are stored wrapped by a key-encryption key (KEK) that is not in the database:
  ARCHIPEL_KEYSTORE_KEK (base64, 32 bytes), else the file `keystore-kek` (0600, made on first use)
  beside the database's pgpass files (the local server's `<home>/secrets`), so that a dump of the
  database alone reveals no personal data. Every process of a deployment needs the same KEK.
- The services' roles may only call `key_for` (get or create the keys of the subjects they append
  for) and `keys_of` (read); the auditor only `keys_of`. Both are SECURITY DEFINER functions; no role
  but the owner may touch the table, so only the owner destroys (`destroy`, `archipel privacy
  forget`). A destroyed key is a row without key, so no later append can make a new one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared import kek as keys
from shared.db import Migration, check_identifier, create_pool, migrate
from shared.names import SERVICES
from shared.personal import KEYRING
from shared.settings import Settings

KEK_FILE = "keystore-kek"
ROLE = "keystore"


def migrations(schema: str) -> tuple[Migration, ...]:
    ks = check_identifier(schema)
    return (
        Migration(
            "keystore_0001",
            f"""
            CREATE TABLE {ks}.data_keys (
                subject text PRIMARY KEY,
                wrapped bytea,
                created_at timestamptz NOT NULL DEFAULT now(),
                destroyed_at timestamptz,
                CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
            );
            CREATE FUNCTION {ks}.key_for(p_subjects text[], p_wrapped bytea[])
                RETURNS TABLE (subject text, wrapped bytea)
                LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
                INSERT INTO {ks}.data_keys (subject, wrapped) SELECT * FROM unnest(p_subjects, p_wrapped)
                    ON CONFLICT ON CONSTRAINT data_keys_pkey DO NOTHING;
                SELECT k.subject, k.wrapped FROM {ks}.data_keys k WHERE k.subject = ANY (p_subjects);
            $$;
            CREATE FUNCTION {ks}.keys_of(p_subjects text[])
                RETURNS TABLE (subject text, wrapped bytea)
                LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
                SELECT k.subject, k.wrapped FROM {ks}.data_keys k WHERE k.subject = ANY (p_subjects);
            $$;
            CREATE FUNCTION {ks}.destroy(p_subject text) RETURNS boolean
                LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
                INSERT INTO {ks}.data_keys AS k (subject, wrapped, destroyed_at) VALUES (p_subject, NULL, now())
                    ON CONFLICT ON CONSTRAINT data_keys_pkey DO UPDATE
                    SET wrapped = NULL, destroyed_at = coalesce(k.destroyed_at, now())
                    RETURNING true;
            $$;
            REVOKE ALL ON FUNCTION {ks}.key_for(text[], bytea[]), {ks}.keys_of(text[]), {ks}.destroy(text)
                FROM PUBLIC;
            """,
        ),
        Migration(
            "keystore_0002_plpgsql",
            # plpgsql keeps its plans per session (twice as fast as an SQL function here). A new key
            # commits without waiting for its flush: the event it seals commits after it, synchronously,
            # which flushes the write-ahead log up to both (the key is never lost while its event is kept).
            f"""
            CREATE OR REPLACE FUNCTION {ks}.key_for(p_subjects text[], p_wrapped bytea[])
                RETURNS TABLE (subject text, wrapped bytea)
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
            BEGIN
                PERFORM set_config('synchronous_commit', 'off', true);
                INSERT INTO {ks}.data_keys AS k (subject, wrapped) SELECT * FROM unnest(p_subjects, p_wrapped)
                    ON CONFLICT ON CONSTRAINT data_keys_pkey DO NOTHING;
                RETURN QUERY SELECT k.subject, k.wrapped FROM {ks}.data_keys k WHERE k.subject = ANY (p_subjects);
            END $$;
            CREATE OR REPLACE FUNCTION {ks}.keys_of(p_subjects text[])
                RETURNS TABLE (subject text, wrapped bytea)
                LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
            BEGIN
                RETURN QUERY SELECT k.subject, k.wrapped FROM {ks}.data_keys k WHERE k.subject = ANY (p_subjects);
            END $$;
            """,
        ),
    )


def load_kek(settings: Settings) -> bytes:
    """The key-encryption key: ARCHIPEL_KEYSTORE_KEK, else `<secrets>/keystore-kek` (made once)."""
    return keys.load_kek(settings.keystore_kek, kek_path(settings), "the key store's key-encryption key")


def kek_path(settings: Settings) -> Path:
    """Beside the database's passfiles when the URL in force names one (the key store is one per
    database, so is its KEK: every home using that server shares them), else under the secrets."""
    passfile = dict(parse_qsl(urlsplit(settings.resolved_database_url()).query)).get("passfile")
    folder = Path(passfile).parent if passfile else settings.secrets_path()
    return folder.resolve() / KEK_FILE


class KeyStore:
    """The key store as the services and the audit tools use it (shared.personal.KeySource)."""

    def __init__(self, schema: str, kek: bytes) -> None:
        self.schema = check_identifier(schema)
        self._wrapper = keys.Sealer(kek)

    def _wrap(self, subject: str, key: bytes) -> bytes:
        return self._wrapper.seal(f"archipel-data-key:{subject}", key)

    def _unwrap(self, subject: str, wrapped: bytes | None) -> bytes | None:
        if wrapped is None:
            return None
        try:
            return self._wrapper.open(f"archipel-data-key:{subject}", wrapped)
        except keys.Unsealable:
            raise RuntimeError(
                f"the key store's KEK does not open the data key of {subject[:80]!r}: is ARCHIPEL_KEYSTORE_KEK"
                " (or keystore-kek) this database's?"
            ) from None

    async def keys_for_write(self, pool: asyncpg.Pool, subjects: list[str]) -> dict[str, bytes | None]:
        """Each subject's key, made if it has none; None for a destroyed one. A key this process
        holds is used as it is: were it destroyed meanwhile, what it seals can never be read again
        (erased as well), and every read asks the key store again (KeyRing.prepare)."""
        found: dict[str, bytes | None] = {s: key for s in subjects if (key := KEYRING.known(s)) is not None}
        missing = [subject for subject in subjects if subject not in found]
        if missing:
            rows = await pool.fetch(
                f"SELECT subject, wrapped FROM {self.schema}.key_for($1::text[], $2::bytea[])",
                missing,
                [self._wrap(subject, AESGCM.generate_key(256)) for subject in missing],
            )
            for row in rows:
                key = found[row["subject"]] = self._unwrap(row["subject"], row["wrapped"])
                KEYRING.remember(row["subject"], key)
        return found

    async def read_keys(self, executor: Any, subjects: list[str]) -> dict[str, bytes | None]:
        """Each subject's key; None for a destroyed or absent one."""
        rows = await executor.fetch(f"SELECT subject, wrapped FROM {self.schema}.keys_of($1::text[])", subjects)
        found: dict[str, bytes | None] = dict.fromkeys(subjects)
        found.update({row["subject"]: self._unwrap(row["subject"], row["wrapped"]) for row in rows})
        return found

    async def destroy(self, executor: Any, subject: str) -> None:
        """Only the key store's owner may (the privileged forget path)."""
        await executor.fetchval(f"SELECT {self.schema}.destroy($1)", subject)
        KEYRING.forget(subject)


_DEFAULT: dict[tuple[str, str], KeyStore] = {}


def keystore(settings: Settings) -> KeyStore:
    """The deployment's key store (one object per process, schema and KEK)."""
    where = (settings.keystore_schema, settings.keystore_kek or str(kek_path(settings)))
    found = _DEFAULT.get(where)
    if found is None:
        found = _DEFAULT[where] = KeyStore(settings.keystore_schema, load_kek(settings))
    return found


def default_source() -> KeyStore:
    """The key store of the process's settings (KEYRING's source when none was installed)."""
    return keystore(Settings())


async def ensure_keystore(settings: Settings) -> KeyStore:
    """The key store's schema, made and migrated as its owner (the role `archipel_keystore`, else
    the URL in force) if it is not yet; the services' roles and the auditor granted what they may.
    Idempotent; the schema is one per database."""
    schema = check_identifier(settings.keystore_schema)
    store = keystore(settings)
    dsn = settings.database_url_for(ROLE)
    pool = await create_pool(dsn, schema, min_size=1, max_size=1)
    try:
        await migrate(pool, migrations(schema))
        async with pool.acquire() as connection:
            await connection.execute(f"COMMENT ON SCHEMA {schema} IS '{_marker(schema)}'")
            roles = {
                row["rolname"]
                for row in await connection.fetch(
                    "SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])",
                    [f"archipel_{name}" for name in (*SERVICES, "auditor")],
                )
            }
            writers = sorted(roles - {"archipel_auditor"})
            readers = sorted(roles)
            if readers:
                await connection.execute(f"GRANT USAGE ON SCHEMA {schema} TO {', '.join(readers)}")
                await connection.execute(f"GRANT EXECUTE ON FUNCTION {schema}.keys_of(text[]) TO {', '.join(readers)}")
            if writers:
                await connection.execute(
                    f"GRANT EXECUTE ON FUNCTION {schema}.key_for(text[], bytea[]) TO {', '.join(writers)}"
                )
    finally:
        await pool.close()
    return store


def _marker(schema: str) -> str:
    return f"archipel key store, {migrations(schema)[-1].id}"


async def keystore_ready(executor: Any, settings: Settings) -> bool:
    """Whether the key store is there and up to date (its schema's comment names its last migration):
    the services check before making or migrating it."""
    schema = check_identifier(settings.keystore_schema)
    found = await executor.fetchval("SELECT obj_description(to_regnamespace($1), 'pg_namespace')", schema)
    return bool(found == _marker(schema))


async def destroy_key(settings: Settings, subject: str) -> None:
    """Destroys `subject`'s data key as the key store's owner, then vacuums the table so that no dead
    row version keeps the wrapped key in the database files."""
    connection = await asyncpg.connect(settings.database_url_for(ROLE))
    try:
        await keystore(settings).destroy(connection, subject)
        await connection.execute(f"VACUUM {check_identifier(settings.keystore_schema)}.data_keys")
    finally:
        await connection.close()
