"""Injected time (DESIGN rule 7) and settings read from the environment (DESIGN rule 10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import PARIS, FixedClock, system_clock, to_paris
from shared.settings import SERVICES, Settings
from shared.token_keys import ensure_keys, load_key_set, load_signing_key

T0 = datetime(2025, 10, 10, 8, 0, tzinfo=UTC)

_ENV = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "SMTP_HOST",
    "SMTP_PORT",
    "ARCHIPEL_TOKEN_KEYS_FILE",
    "ARCHIPEL_TOKEN_SIGNING_KEY_FILE",
    "ARCHIPEL_HOME",
    "ARCHIPEL_TOPIC_PREFIX",
    "ARCHIPEL_DB_SCHEMA_PREFIX",
    "ARCHIPEL_GRPC_PORT_BASE",
    "ARCHIPEL_KAFKA_PARTITIONS",
    "ARCHIPEL_TOKEN_TTL_MINUTES",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# -- clock ------------------------------------------------------------------------------------------


def test_a_fixed_clock_returns_its_time_until_advanced() -> None:
    clock = FixedClock(T0)
    assert clock() == T0
    assert clock() == T0
    clock.advance(timedelta(hours=48))
    assert clock() == T0 + timedelta(hours=48)


def test_a_fixed_clock_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2025, 10, 10, 8, 0))  # noqa: DTZ001


def test_the_system_clock_is_aware_utc() -> None:
    now = system_clock()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("utc", "paris_hour"),
    [
        (datetime(2025, 10, 10, 8, 0, tzinfo=UTC), 10),  # summer time, UTC+2
        (datetime(2025, 11, 12, 16, 0, tzinfo=UTC), 17),  # winter time, UTC+1 (R-07 closing hour)
    ],
)
def test_to_paris_applies_the_right_offset(utc: datetime, paris_hour: int) -> None:
    paris = to_paris(utc)
    assert paris.tzinfo is PARIS
    assert paris.hour == paris_hour
    assert paris == utc  # same instant


# -- settings ---------------------------------------------------------------------------------------


def test_each_service_has_its_port_topic_and_schema(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert SERVICES == ("accounts", "registration", "documents", "results", "dossier")
    assert [settings.grpc_port(name) for name in SERVICES] == [50051, 50052, 50053, 50054, 50055]
    assert settings.grpc_target("documents") == "127.0.0.1:50053"
    assert settings.topic("accounts") == "archipel.accounts.events"
    assert settings.db_schema("results") == "results"


def test_settings_are_read_from_the_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("ARCHIPEL_TOPIC_PREFIX", "t1")
    clean_env.setenv("ARCHIPEL_DB_SCHEMA_PREFIX", "t1_")
    clean_env.setenv("ARCHIPEL_GRPC_PORT_BASE", "6000")
    clean_env.setenv("DATABASE_URL", "postgresql://db/archipel")
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    clean_env.setenv("ARCHIPEL_TOKEN_KEYS_FILE", "/etc/archipel/token-keys.json")
    clean_env.setenv("ARCHIPEL_HOME", str(tmp_path))
    settings = Settings()
    assert settings.topic("registration") == "t1.registration.events"
    assert settings.db_schema("accounts") == "t1_accounts"
    assert settings.grpc_port("results") == 6003
    assert settings.resolved_database_url() == "postgresql://db/archipel"
    assert settings.resolved_kafka() == "kafka:9092"
    assert settings.token_keys_path() == Path("/etc/archipel/token-keys.json")
    assert settings.signing_key_path() == tmp_path / "keys" / "signing-key.pem"
    assert settings.home == tmp_path


@pytest.mark.parametrize(("name", "value"), [("ARCHIPEL_KAFKA_PARTITIONS", "0"), ("ARCHIPEL_TOKEN_TTL_MINUTES", "x")])
def test_bad_settings_fail_fast(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ValueError, match=name.removeprefix("ARCHIPEL_").lower()):
        Settings()


def test_servers_fall_back_to_those_recorded_by_infra_up(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "infra.json").write_text('{"database_url": "postgresql://local/x", "kafka_bootstrap_servers": "k:1"}')
    settings = Settings(home=tmp_path)
    assert settings.infra_file == tmp_path / "infra.json"
    assert settings.resolved_database_url() == "postgresql://local/x"
    assert settings.resolved_kafka() == "k:1"


def test_missing_servers_say_to_run_infra_up(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(RuntimeError, match="archipel infra up"):
        settings.resolved_database_url()
    (tmp_path / "infra.json").write_text("not json")
    with pytest.raises(RuntimeError, match="KAFKA_BOOTSTRAP_SERVERS"):
        settings.resolved_kafka()


def test_the_token_keys_fall_back_to_the_local_ones(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(RuntimeError, match="archipel infra up"):
        load_signing_key(settings.signing_key_path())
    with pytest.raises(RuntimeError, match="archipel infra up"):
        load_key_set(settings.token_keys_path())
    key = ensure_keys(tmp_path / "keys")
    assert load_signing_key(settings.signing_key_path()).kid == key.kid
    assert list(load_key_set(settings.token_keys_path()).keys) == [key.kid]


def test_local_paths_are_absolute_whatever_the_working_directory(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`make run` uses the default home, `.archipel`: the broker reads its keystore and PostgreSQL its
    data from the paths written in their configuration, outside the caller's working directory."""
    clean_env.chdir(tmp_path)
    settings = Settings()
    assert settings.home == tmp_path / ".archipel"
    assert settings.secrets_path() == tmp_path / ".archipel" / "secrets"
    assert Settings(home=Path("elsewhere"), secrets_dir=Path("s")).secrets_path() == tmp_path / "s"
