"""python -m services.registration [serve|relay|projections]"""

from __future__ import annotations

import argparse
import sys

from services.registration.app import SPEC, serve
from shared.service import run_projections, run_relay, run_until_signal
from shared.settings import Settings
from shared.telemetry import setup_tracing


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m services.registration")
    parser.add_argument("role", choices=("serve", "relay", "projections"), nargs="?", default="serve")
    role = parser.parse_args().role
    settings = Settings()
    setup_tracing(f"registration-{role}")
    if role == "relay":
        return run_until_signal(lambda stop: run_relay(settings, SPEC, stop))
    if role == "projections":
        return run_until_signal(lambda stop: run_projections(settings, SPEC, stop))
    return run_until_signal(lambda stop: serve(settings, stop))


if __name__ == "__main__":
    sys.exit(main())
