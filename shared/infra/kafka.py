"""The local Kafka broker: one KRaft node (broker and controller) run from the jars of
`org.apache.kafka:kafka_2.13:<kafka_version>`, fetched once with Maven into a cache, data under
`<home>/kafka`, started detached so that it outlives the command that started it."""

from __future__ import annotations

import base64
import dataclasses
import logging
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from kafka import KafkaAdminClient

from shared.infra.kafka_jars import check_java, ensure_jars
from shared.infra.kafka_security import (
    SCRAM_MARKER,
    add_admin_scram,
    format_arguments,
    security_properties,
)
from shared.infra.process import InfraError, port_open, process_alive, read_pid, tail, terminate
from shared.infra.tls import ensure_password, write_private
from shared.kafka import ADMIN, KafkaAccess, ca_file, password_file
from shared.settings import Settings

_MAIN_CLASS = "kafka.Kafka"
_DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
START_TIMEOUT_SECONDS = 90.0


def root_dir(settings: Settings) -> Path:
    return settings.home.resolve() / "kafka"


def _properties_file(settings: Settings) -> Path:
    """Its path is on the broker's command line: it tells our broker from any other process."""
    return root_dir(settings) / "server.properties"


def pid_file(settings: Settings) -> Path:
    return root_dir(settings) / "kafka.pid"


def broker_log(settings: Settings) -> Path:
    return root_dir(settings) / "broker.log"


def local_bootstrap(settings: Settings) -> str:
    return f"127.0.0.1:{settings.kafka_port}"


def local_protocol(settings: Settings) -> str:
    """The client listener of the local broker: SASL_SSL (SCRAM over TLS) unless
    ARCHIPEL_KAFKA_SECURITY_PROTOCOL=PLAINTEXT asks for an open one."""
    protocol = settings.kafka_security_protocol or "SASL_SSL"
    if protocol not in ("SASL_SSL", "PLAINTEXT"):
        raise InfraError(f"the local Kafka broker listens SASL_SSL or PLAINTEXT, not {protocol}")
    return protocol


def running_protocol(settings: Settings) -> str:
    """The client listener's protocol in the properties the local broker was started with."""
    try:
        text = _properties_file(settings).read_text()
    except OSError:
        return local_protocol(settings)
    return "SASL_SSL" if "listeners=SASL_SSL://" in text else "PLAINTEXT"


def local_admin(settings: Settings, protocol: str | None = None) -> KafkaAccess:
    """The admin's access to the local broker (the super user; only PLAINTEXT when it is open)."""
    protocol = protocol or running_protocol(settings)
    if protocol == "PLAINTEXT":
        return KafkaAccess(local_bootstrap(settings))
    return KafkaAccess(
        local_bootstrap(settings),
        protocol,
        ADMIN,
        ensure_password(password_file(settings, ADMIN)),
        str(ca_file(settings)),
        settings.kafka_sasl_mechanism,
    )


def answers(access: KafkaAccess, timeout: float = 5.0) -> bool:
    """Whether the cluster answers a metadata request (to these credentials)."""
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # refused connections are expected here
    try:
        admin = KafkaAdminClient(
            **access.kafka_python(),
            bootstrap_timeout_ms=int(timeout * 1000),
            request_timeout_ms=int(timeout * 1000),
            client_id="archipel-infra",
        )
    except Exception:
        return False
    try:
        admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        admin.close()


def _properties(settings: Settings, protocol: str, *, admin_plain: bool = False) -> str:
    data = root_dir(settings) / "data"
    controller = f"127.0.0.1:{settings.kafka_controller_port}"
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": controller,
        "controller.listener.names": "CONTROLLER",
        **security_properties(settings, protocol, local_bootstrap(settings), admin_plain=admin_plain),
        "log.dirs": str(data),
        "num.partitions": str(settings.kafka_partitions),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "12",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.retention.hours": "-1",
    }
    header = "# Written by `archipel infra up` at each start; edit shared/infra/kafka.py instead.\n"
    return header + "".join(f"{key}={value}\n" for key, value in lines.items())


def _classpath(lib: Path) -> str:
    return f"{lib}{os.sep}*"


def _format_storage(settings: Settings, java: str, lib: Path, properties: Path, protocol: str) -> None:
    data = root_dir(settings) / "data"
    if (data / "meta.properties").exists():
        return
    scram = format_arguments(settings, protocol)
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    result = subprocess.run(
        [
            java,
            "-cp",
            _classpath(lib),
            *_log_options(settings),
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            f"--cluster-id={cluster_id}",  # an id may start with "-"
            "-c",
            str(properties),
            *scram,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise InfraError(f"formatting the Kafka storage failed: {(result.stdout + result.stderr).strip()}")
    if scram:
        (data / SCRAM_MARKER).touch()


def _log_options(settings: Settings) -> list[str]:
    options = [f"-Dkafka.logs.dir={root_dir(settings) / 'logs'}"]
    config = _DEPLOY / "log4j2.yaml"
    if config.exists():
        options.append(f"-Dlog4j2.configurationFile={config}")
    return options


def is_running(settings: Settings) -> bool:
    pid = read_pid(pid_file(settings))
    return pid is not None and process_alive(pid, str(_properties_file(settings)))


def start(settings: Settings) -> None:
    """Start the local broker unless it already runs, and wait until it answers. One that runs keeps
    the listener it was started with (`running_protocol`): `archipel infra down` then `up` secures a
    broker started before issue 13; its storage, formatted without the admin's SCRAM credential,
    gets it from a first start where the admin alone may also log in with PLAIN (over TLS)."""
    bootstrap = local_bootstrap(settings)
    protocol = local_protocol(settings)
    if not is_running(settings):
        for port, setting in (
            (settings.kafka_port, "KAFKA_PORT"),
            (settings.kafka_controller_port, "KAFKA_CONTROLLER_PORT"),
        ):
            if port_open("127.0.0.1", port):
                raise InfraError(
                    f"port {port} is already taken by another process: stop it or set "
                    f"ARCHIPEL_{setting} (or KAFKA_BOOTSTRAP_SERVERS to use an existing broker)"
                )
        java = check_java()
        lib = ensure_jars(settings)
        root = root_dir(settings)
        (root / "logs").mkdir(parents=True, exist_ok=True)
        properties = _properties_file(settings)
        write_private(properties, _properties(settings, protocol).encode())  # it holds the admin's password
        _format_storage(settings, java, lib, properties, protocol)
        if protocol != "PLAINTEXT" and not (root / "data" / SCRAM_MARKER).exists():
            write_private(properties, _properties(settings, protocol, admin_plain=True).encode())
            _launch(settings, java, lib, properties)
            plain = dataclasses.replace(local_admin(settings, protocol), mechanism="PLAIN")
            _wait_until_answers(settings, bootstrap, plain)
            add_admin_scram(plain, settings.secrets_path(), root / "data")
            stop(settings)
            write_private(properties, _properties(settings, protocol).encode())
        _launch(settings, java, lib, properties)
    _wait_until_answers(settings, bootstrap, local_admin(settings))


def _launch(settings: Settings, java: str, lib: Path, properties: Path) -> None:
    with broker_log(settings).open("ab") as log:
        process = subprocess.Popen(
            [
                java,
                "-Xms256m",
                "-Xmx768m",
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                *_log_options(settings),
                "-cp",
                _classpath(lib),
                _MAIN_CLASS,
                str(properties),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root_dir(settings),
            start_new_session=True,
        )
    pid_file(settings).write_text(f"{process.pid}\n")


def _wait_until_answers(settings: Settings, bootstrap: str, access: KafkaAccess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if answers(access, timeout=2.0):
            return
        if not is_running(settings):
            raise InfraError(
                f"the Kafka broker exited while starting (log {broker_log(settings)}):\n{_logs_tail(settings)}"
            )
        time.sleep(0.5)
    raise InfraError(
        f"the Kafka broker did not answer on {bootstrap} within {START_TIMEOUT_SECONDS:.0f} s "
        f"(log {broker_log(settings)}):\n{_logs_tail(settings)}"
    )


def _logs_tail(settings: Settings) -> str:
    return tail(broker_log(settings)) + "\n" + tail(root_dir(settings) / "logs" / "server.log")


def stop(settings: Settings) -> bool:
    """Stop the local broker if it runs (SIGTERM, then SIGKILL after 30 s); returns whether it ran."""
    pid = read_pid(pid_file(settings))
    marker = str(_properties_file(settings))
    running = pid is not None and process_alive(pid, marker)
    if pid is not None and running:
        terminate(pid, marker, grace_seconds=30.0)
    pid_file(settings).unlink(missing_ok=True)
    return running


def purge(settings: Settings) -> None:
    shutil.rmtree(root_dir(settings), ignore_errors=True)
