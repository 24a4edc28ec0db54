"""Registration domain: pure decide/evolve over the registration aggregate (DESIGN rule 1)."""

from services.registration.domain.decide import Facts, FirstForm, decide, registration_id, sat_units
from services.registration.domain.documents import required_documents
from services.registration.domain.state import INITIAL, RegistrationState, evolve, replay

__all__ = [
    "INITIAL",
    "Facts",
    "FirstForm",
    "RegistrationState",
    "decide",
    "evolve",
    "registration_id",
    "replay",
    "required_documents",
    "sat_units",
]
