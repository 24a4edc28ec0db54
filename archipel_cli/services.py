"""The catalogue of Archipel's services, for the commands that drive all of them."""

from __future__ import annotations

from shared.service import ServiceSpec


def specs() -> list[ServiceSpec]:
    """Every service that runs today (the others join as their issues land)."""
    from services.accounts.app import SPEC as ACCOUNTS  # noqa: PLC0415
    from services.documents.app import SPEC as DOCUMENTS  # noqa: PLC0415
    from services.dossier.app import SPEC as DOSSIER  # noqa: PLC0415
    from services.registration.app import SPEC as REGISTRATION  # noqa: PLC0415
    from services.results.app import SPEC as RESULTS  # noqa: PLC0415

    return [ACCOUNTS, REGISTRATION, DOCUMENTS, RESULTS, DOSSIER]
