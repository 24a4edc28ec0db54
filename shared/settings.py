"""Settings from environment variables (DESIGN rule 10): read once at start, fail fast."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import AliasChoices, Field
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
    grpc_host: str = "127.0.0.1"
    token_ttl_minutes: int = Field(default=15, ge=1, description="access tokens (issue 13: short)")
    refresh_ttl_hours: int = Field(default=12, ge=1, description="refresh tokens (single use, rotating)")
    token_signing_key_file: Path | None = Field(default=None, description="accounts only; default home/keys")
    token_keys_file: Path | None = Field(default=None, description="the published key set; default home/keys")
    activation_link_base: str = "http://127.0.0.1:8080/activer"
    smtp_host: str | None = Field(default=None, validation_alias=AliasChoices("SMTP_HOST"))
    smtp_port: int = Field(default=25, validation_alias=AliasChoices("SMTP_PORT"))
    mail_from: str = "ne-pas-repondre@archipel.local"
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    blob_s3_bucket: str | None = None
    blob_s3_prefix: str = ""
    blob_s3_endpoint: str | None = None

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

    def resolved_kafka(self) -> str:
        if self.kafka_bootstrap_servers:
            return self.kafka_bootstrap_servers
        return str(self._recorded("kafka_bootstrap_servers"))

    def _recorded(self, key: str) -> object:
        try:
            recorded = json.loads(self.infra_file.read_text())
            return recorded[key]
        except (OSError, ValueError, KeyError):
            raise RuntimeError(
                f"no {key.upper()} in the environment and no local server recorded in "
                f"{self.infra_file}: run `archipel infra up` (or `make run`) first"
            ) from None

    def signing_key_path(self) -> Path:
        """The token signing key (Ed25519, PEM): read by the accounts service only."""
        return self.token_signing_key_file or self.home / "keys" / SIGNING_KEY_FILE

    def token_keys_path(self) -> Path:
        """The published key set (JWKS) every service verifies tokens with."""
        return self.token_keys_file or self.home / "keys" / KEY_SET_FILE
