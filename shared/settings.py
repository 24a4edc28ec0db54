"""Settings from environment variables (DESIGN rule 10): read once at start, fail fast."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.names import SERVICES
from shared.token_keys import KEY_SET_FILE, SIGNING_KEY_FILE

__all__ = ["SERVICES", "Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARCHIPEL_", extra="ignore")

    home: Path = Field(default=Path(".archipel"), description="local state: servers' data, mail, keys")
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    kafka_bootstrap_servers: str | None = Field(default=None, validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS"))
    kafka_partitions: int = Field(default=12, ge=1)
    topic_prefix: str = "archipel"
    db_schema_prefix: str = ""
    grpc_port_base: int = 50051
    grpc_ports: dict[str, int] = Field(default_factory=dict, description="ports of services outside SERVICES")
    pg_port: int = 55432
    kafka_port: int = 59092
    kafka_controller_port: int = 59093
    kafka_version: str = "4.1.1"
    # Kafka clients (shared.kafka): SASL_SSL (SCRAM-SHA-512 over TLS) unless set; without a username,
    # each process's principal and its password come from the local broker's secrets (secrets_dir).
    kafka_security_protocol: str | None = None  # None: what `infra up` recorded, else SASL_SSL
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ca_file: Path | None = None
    secrets_dir: Path | None = Field(default=None, description="keys and passwords; <home>/secrets by default")
    grpc_host: str = "127.0.0.1"
    # gRPC transport (shared.grpc_tls): mutual TLS unless ARCHIPEL_GRPC_SECURITY=plaintext; without
    # ARCHIPEL_GRPC_CERT_FILE, each process's certificate comes from the local CA under secrets_dir.
    grpc_security: Literal["mtls", "plaintext"] = "mtls"
    grpc_ca_file: Path | None = Field(default=None, description="the CA gRPC peers must be signed by")
    grpc_cert_file: Path | None = Field(default=None, description="this process's certificate chain (PEM)")
    grpc_key_file: Path | None = Field(default=None, description="its private key; default grpc_cert_file")
    token_ttl_minutes: int = Field(default=15, ge=1, description="access tokens (issue 13: short)")
    refresh_ttl_hours: int = Field(default=12, ge=1, description="refresh tokens (single use, rotating)")
    token_signing_key_file: Path | None = Field(default=None, description="accounts only; default home/keys")
    token_keys_file: Path | None = Field(default=None, description="the published key set; default home/keys")
    activation_link_base: str = "http://127.0.0.1:8080/activer"
    smtp_host: str | None = Field(default=None, validation_alias=AliasChoices("SMTP_HOST"))
    smtp_port: int = Field(default=25, validation_alias=AliasChoices("SMTP_PORT"))
    # SMTP (shared.mail): STARTTLS verified against smtp_ca_file (default: the system's CAs); never
    # in clear unless ARCHIPEL_SMTP_ALLOW_PLAINTEXT=true; AUTH when a username is set.
    smtp_ca_file: Path | None = None
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_allow_plaintext: bool = False
    mail_from: str = "ne-pas-repondre@archipel.local"
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    blob_s3_bucket: str | None = None
    blob_s3_prefix: str = ""
    blob_s3_endpoint: str | None = None
    # Personal data (shared.keystore): the key store's schema, one per database whatever the prefix,
    # and its key-encryption key (base64; default: the file <secrets>/keystore-kek, made on first use).
    keystore_schema: str = "keystore"
    keystore_kek: str | None = Field(default=None, repr=False)
    # The accounts service's key that seals the TOTP secrets at rest (base64; default: the file
    # <secrets>/totp-kek, made on first use; shared.kek).
    totp_kek: str | None = Field(default=None, repr=False)
    db_role_passwords: dict[str, str] = Field(
        default_factory=dict,
        description="ARCHIPEL_DB_ROLE_PASSWORD_<ROLE>: a database role's password (see database_url_for)",
    )

    @model_validator(mode="before")
    @classmethod
    def _role_passwords(cls, data: object) -> object:
        """ARCHIPEL_DB_ROLE_PASSWORD_ACCOUNTS=… (one variable per role) into `db_role_passwords`."""
        if isinstance(data, dict) and "db_role_passwords" not in data:
            prefix = "ARCHIPEL_DB_ROLE_PASSWORD_"
            found = {k[len(prefix) :].lower(): v for k, v in os.environ.items() if k.upper().startswith(prefix)}
            if found:
                data = {**data, "db_role_passwords": found}
        return data

    @field_validator(
        "home",
        "secrets_dir",
        "token_signing_key_file",
        "token_keys_file",
        "grpc_ca_file",
        "grpc_cert_file",
        "grpc_key_file",
        "smtp_ca_file",
    )
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        """Paths are made absolute once, here: the servers started from them (the broker reading its
        keystore, PostgreSQL its data) do not run in the caller's working directory."""
        return None if path is None else path.expanduser().absolute()

    def topic(self, service: str) -> str:
        return f"{self.topic_prefix}.{service}.events"

    def db_schema(self, service: str) -> str:
        return f"{self.db_schema_prefix}{service}"

    def grpc_port(self, service: str) -> int:
        """accounts on the base port (50051), then registration, documents, results, dossier;
        any other service (a test's own) on the port `grpc_ports` gives it."""
        if service in self.grpc_ports:
            return self.grpc_ports[service]
        return self.grpc_port_base + SERVICES.index(service)

    def grpc_target(self, service: str) -> str:
        return f"{self.grpc_host}:{self.grpc_port(service)}"

    @property
    def infra_file(self) -> Path:
        return self.home / "infra.json"

    def resolved_database_url(self) -> str:
        """DATABASE_URL, else the embedded server recorded by `archipel infra up`."""
        if self.database_url:
            return self.database_url
        return str(self._recorded("database_url"))

    def database_url_for(self, role: str) -> str:
        """The URL a process of `role` (a service's name, or "auditor") connects with, as the database
        role `archipel_<role>`: with the password ARCHIPEL_DB_ROLE_PASSWORD_<ROLE>, else with the pgpass
        file `pg-<role>` beside the one the URL in force names (`?passfile=<dir>/pg-postgres`, as
        `archipel infra up` records for the local server); without either, the URL in force itself
        (an external server without roles: deploy/postgres-roles.sql says what to create)."""
        url = self.resolved_database_url()
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        host = parts.netloc.rpartition("@")[2]
        name = quote(f"archipel_{role}", safe="")
        if role in self.db_role_passwords:
            query.pop("passfile", None)
            netloc = f"{name}:{quote(self.db_role_passwords[role], safe='')}@{host}"
        elif "passfile" in query and (passfile := Path(query["passfile"]).with_name(f"pg-{role}")).is_file():
            query["passfile"] = str(passfile)
            netloc = f"{name}@{host}"
        else:
            return url
        return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="/")))

    def resolved_kafka(self) -> str:
        if self.kafka_bootstrap_servers:
            return self.kafka_bootstrap_servers
        return str(self._recorded("kafka_bootstrap_servers"))

    def resolved_kafka_security(self) -> str:
        """ARCHIPEL_KAFKA_SECURITY_PROTOCOL, else the local broker's (recorded by infra up), else SASL_SSL."""
        if self.kafka_security_protocol:
            return self.kafka_security_protocol
        try:
            return str(json.loads(self.infra_file.read_text()).get("kafka_security_protocol") or "PLAINTEXT")
        except (OSError, ValueError):
            return "SASL_SSL"

    def secrets_path(self) -> Path:
        return self.secrets_dir or self.home / "secrets"

    def _recorded(self, key: str) -> object:
        try:
            recorded = json.loads(self.infra_file.read_text())
            return recorded[key]
        except (OSError, ValueError, KeyError):
            raise RuntimeError(
                f"no {key.upper()} in the environment and no local server recorded in "
                f"{self.infra_file}: run `archipel infra up` (or `make run`) first"
            ) from None

    def totp_kek_path(self) -> Path:
        """The TOTP secrets' key-encryption key when ARCHIPEL_TOTP_KEK is not set: the accounts service's only."""
        return self.secrets_path() / "totp-kek"

    def signing_key_path(self) -> Path:
        """The token signing key (Ed25519, PEM): read by the accounts service only."""
        return self.token_signing_key_file or self.home / "keys" / SIGNING_KEY_FILE

    def token_keys_path(self) -> Path:
        """The published key set (JWKS) every service verifies tokens with."""
        return self.token_keys_file or self.home / "keys" / KEY_SET_FILE
