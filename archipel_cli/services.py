"""The catalogue of Archipel's services, for the commands that drive all of them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shared.names import SERVICES

if TYPE_CHECKING:
    from shared.service import Service


def module_of(name: str) -> str:
    """The module declaring the service (`python -m services NAME` runs it)."""
    return f"services.{name}.service"


def specs() -> list[Service[Any]]:
    """Every service's declaration, imported when a command needs them (not at the CLI's start)."""
    return [importlib.import_module(module_of(name)).SERVICE for name in SERVICES]
