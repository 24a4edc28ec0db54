"""Registration domain: pure decide/evolve over the registration, calendar and schedule aggregates
(DESIGN rule 1)."""

from services.registration.domain.choices import sat_units
from services.registration.domain.decide import REGISTRATION, decide, registration_id
from services.registration.domain.documents import required_documents
from services.registration.domain.facts import Facts, FirstForm, GrantedBenefit, KnownCandidate
from services.registration.domain.state import INITIAL, RegistrationState, evolve

__all__ = [
    "INITIAL",
    "REGISTRATION",
    "Facts",
    "FirstForm",
    "GrantedBenefit",
    "KnownCandidate",
    "RegistrationState",
    "decide",
    "evolve",
    "registration_id",
    "required_documents",
    "sat_units",
]
