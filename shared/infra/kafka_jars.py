"""The broker's jars: `org.apache.kafka:kafka_2.13:<kafka_version>` and its runtime dependencies,
fetched once with Maven into a cache shared by every work tree, run by Java >= 17."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from shared.infra.process import InfraError
from shared.settings import Settings

_MIN_JAVA = 17
_DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kafka"


def cache_dir(settings: Settings) -> Path:
    """Where the broker's jars are kept across work trees: $XDG_CACHE_HOME/archipel, by default
    ~/.cache/archipel."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "archipel" / f"kafka-{settings.kafka_version}"


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
