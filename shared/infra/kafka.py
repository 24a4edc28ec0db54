"""The local Kafka broker: one KRaft node (broker and controller) run from the jars of
`org.apache.kafka:kafka_2.13:<kafka_version>`, fetched once with Maven into a cache, data under
`<home>/kafka`, started detached so that it outlives the command that started it."""

from __future__ import annotations

import base64
import logging
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from kafka import KafkaAdminClient

from shared.infra.process import InfraError, port_open, process_alive, read_pid, tail, terminate
from shared.settings import Settings

_MAIN_CLASS = "kafka.Kafka"
_MIN_JAVA = 17
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


def cache_dir(settings: Settings) -> Path:
    """Where the broker's jars are kept across work trees: $XDG_CACHE_HOME/archipel, by default
    ~/.cache/archipel."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "archipel" / f"kafka-{settings.kafka_version}"


def answers(bootstrap: str, timeout: float = 5.0) -> bool:
    """Whether the cluster at `bootstrap` answers a metadata request."""
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # refused connections are expected here
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
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


def check_java() -> str:
    """The `java` executable, if it is at least Java 17."""
    java = shutil.which("java")
    if java is None:
        raise InfraError("`java` not found: install Java >= 17 (apt-get install openjdk-17-jre-headless)")
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    found = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if found is None:
        raise InfraError(f"cannot read the version of {java}: {result.stderr.strip()}")
    major = int(found.group(1))
    if major == 1 and found.group(2):
        major = int(found.group(2))  # "1.8.0" is Java 8
    if major < _MIN_JAVA:
        raise InfraError(f"Kafka {_MIN_JAVA}+ needs Java >= {_MIN_JAVA}, found Java {major} at {java}")
    return java


def ensure_jars(settings: Settings) -> Path:
    """The folder of the broker's jars, fetched with Maven on first use."""
    lib = cache_dir(settings) / "lib"
    if (lib / f"kafka_2.13-{settings.kafka_version}.jar").exists():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError("`mvn` not found: Maven fetches the Kafka jars once (apt-get install maven)")
    staging = lib.with_name(f"lib.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    command = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(_DEPLOY / "pom.xml"),
        "dependency:copy-dependencies",
        f"-Dkafka.version={settings.kafka_version}",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
    if result.returncode != 0 or not (staging / f"kafka_2.13-{settings.kafka_version}.jar").exists():
        shutil.rmtree(staging, ignore_errors=True)
        raise InfraError(
            f"Maven could not fetch kafka_2.13:{settings.kafka_version}: {_first_error(result.stdout + result.stderr)}"
        )
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    return lib


def _first_error(output: str) -> str:
    """Maven's first [ERROR] line, without colour codes."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in output.splitlines()]
    errors = [line.removeprefix("[ERROR]").strip() for line in lines if line.startswith("[ERROR]")]
    return next((line for line in errors if line), lines[-1] if lines else "no output")


def _properties(settings: Settings) -> str:
    data = root_dir(settings) / "data"
    listener = local_bootstrap(settings)
    controller = f"127.0.0.1:{settings.kafka_controller_port}"
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": controller,
        "listeners": f"PLAINTEXT://{listener},CONTROLLER://{controller}",
        "advertised.listeners": f"PLAINTEXT://{listener}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
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


def _format_storage(settings: Settings, java: str, lib: Path, properties: Path) -> None:
    data = root_dir(settings) / "data"
    if (data / "meta.properties").exists():
        return
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
            "-t",
            cluster_id,
            "-c",
            str(properties),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise InfraError(f"formatting the Kafka storage failed: {(result.stdout + result.stderr).strip()}")


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
    """Start the local broker unless it already runs, and wait until it answers."""
    bootstrap = local_bootstrap(settings)
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
        properties.write_text(_properties(settings))
        _format_storage(settings, java, lib, properties)
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
                cwd=root,
                start_new_session=True,
            )
        pid_file(settings).write_text(f"{process.pid}\n")
    _wait_until_answers(settings, bootstrap)


def _wait_until_answers(settings: Settings, bootstrap: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if answers(bootstrap, timeout=2.0):
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
