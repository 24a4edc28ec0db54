"""The run's record: the machine and versions, every figure, Archipel's figures as ratios to the
peers', the targets (never asserted, only shown), written as bench/results/<run>.json with a PNG of
throughput and lag over time next to it."""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.common import Json, Recorder, python_version, ratio

PACKAGES = ("asyncpg", "kafka-python", "faststream", "aiokafka", "grpcio", "pydantic", "eventsourcing", "psycopg")


def machine() -> Json:
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    return {"cores": os.cpu_count(), "memory_gib": round(memory_kb / 1024**2, 1), "platform": platform.platform()}


def versions(extra: Json) -> Json:
    found: Json = {"python": python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found | extra


def _get(figures: Json, path: str) -> float:
    value: Any = figures
    for part in path.split("."):
        value = value.get(part, {}) if isinstance(value, dict) else {}
    return float(value) if isinstance(value, int | float) else 0.0


RATIOS = (
    ("append vs eventsourcing append", "event_store.append_events_per_s", "eventsourcing.append_events_per_s"),
    ("append vs raw INSERT", "event_store.append_events_per_s", "raw_postgres.insert_events_per_s"),
    ("append vs raw COPY", "event_store.append_events_per_s", "raw_postgres.copy_events_per_s"),
    ("append_many vs raw COPY", "event_store.append_many_events_per_s", "raw_postgres.copy_events_per_s"),
    ("read_stream vs eventsourcing", "event_store.read_stream_events_per_s", "eventsourcing.read_stream_events_per_s"),
    ("read_log vs eventsourcing", "event_store.read_log_events_per_s", "eventsourcing.read_log_events_per_s"),
    ("relay publish vs raw produce", "relay.publish_events_per_s", "raw_kafka.produce_events_per_s"),
    ("replay vs raw read of its topics (aiokafka)", "replay.events_per_s", "replay_raw_read.events_per_s"),
    ("replay vs raw consume (kafka-python)", "replay.events_per_s", "raw_kafka.consume_events_per_s"),
)


def ratios(figures: Json) -> Json:
    return {name: ratio(_get(figures, ours), _get(figures, theirs)) for name, ours, theirs in RATIOS}


def targets(figures: Json) -> Json:
    """Each target: met (True), missed (False), or None when its phase did not run (--only)."""
    append = _get(figures, "event_store.append_events_per_s")
    seconds = _get(figures, "deliberation.full_seconds") or _get(figures, "deliberation.estimated_seconds_for_target")
    checks: dict[str, tuple[str, bool]] = {
        "append >= 5,000 events/s": ("event_store", append >= 5000),
        "append >= eventsourcing": ("eventsourcing", append >= _get(figures, "eventsourcing.append_events_per_s") > 0),
        "end-to-end lag p99 <= 1 s at 500 commands/s": (
            "end_to_end",
            _get(figures, "end_to_end.lag_p99_s") <= 1.0 and _get(figures, "end_to_end.events") > 0,
        ),
        "replay >= 50,000 events/s": ("replay", _get(figures, "replay.events_per_s") >= 50_000),
        "deliberation of 180,000 <= 20 s": ("deliberation", 0 < seconds <= 20),
    }
    return {name: (met if section in figures else None) for name, (section, met) in checks.items()}


def plot(rec: Recorder, path: Path) -> None:
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(15, 8), sharex=True)
    top.set_prop_cycle(color=[plt.get_cmap("tab20")(i) for i in range(20)])  # 20 distinct colours
    for name, points in sorted(rec.series.items()):
        if not points or ("lag" in name and "(s)" in name):
            continue
        top.plot([p[0] for p in points], [p[1] for p in points], label=name, linewidth=1.2)
    top.set_ylabel("per second")
    top.set_yscale("symlog", linthresh=10)
    top.set_title("Throughput over the run (each phase its own line)")
    top.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for name, points in rec.series.items():
        if "lag" in name and "(s)" in name:
            bottom.plot([p[0] for p in points], [p[1] for p in points], label=name, color="tab:red")
    bottom.axhline(1.0, color="grey", linestyle="--", linewidth=0.8, label="target p99 1 s")
    bottom.set_ylabel("seconds")
    bottom.set_xlabel("seconds since the bench started")
    bottom.set_title("End-to-end lag (append -> projection applied), p99 per second of applying")
    bottom.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(str(path), dpi=110)
    plt.close(figure)


def write(rec: Recorder, config: Json, extra_versions: Json) -> tuple[Path, Path]:
    rec.results_dir.mkdir(parents=True, exist_ok=True)
    record: Json = {
        "run": rec.run_id,
        "config": config,
        "machine": machine(),
        "versions": versions(extra_versions),
        "figures": rec.figures,
        "ratios_archipel_to_peer": ratios(rec.figures),
        "targets_met": targets(rec.figures),
        "peak_rss_kb_bench_process_after": rec.memory,
        "profiles": rec.profiles,
        "series": {name: [[round(t, 3), round(v, 3)] for t, v in points] for name, points in rec.series.items()},
    }
    json_path = rec.results_dir / f"{rec.run_id}.json"
    json_path.write_text(json.dumps(record, indent=2, default=str))
    png_path = rec.results_dir / f"{rec.run_id}.png"
    plot(rec, png_path)
    return json_path, png_path


def summary(rec: Recorder) -> str:
    lines = ["", "=== Archipel bench ==="]
    for section, values in rec.figures.items():
        lines.append(f"{section}:")
        lines.extend(f"  {key}: {value}" for key, value in values.items())
    lines.append("ratios (Archipel / peer):")
    lines.extend(f"  {name}: {value}" for name, value in ratios(rec.figures).items())
    lines.append("targets (figures, never asserted):")
    verdicts = {True: "met    ", False: "MISSED ", None: "not run"}
    lines.extend(f"  {verdicts[met]} {name}" for name, met in targets(rec.figures).items())
    lines.append(f"peak RSS of the bench process (kB) after each phase: {rec.memory}")
    return "\n".join(lines)
