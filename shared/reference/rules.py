"""The rule constants of the BTS regulation, each defined ONCE, here, with the rule it comes from
(../shared/domain/RULES.md). Every service, the deliberation and the PDFs import them from here."""

from __future__ import annotations

from typing import Final

BENEFIT_SESSIONS: Final = 5  # a bénéfice is kept for the five following sessions
MAX_OPTIONAL_UNITS: Final = 2  # at most two optional tests (épreuves facultatives)
PASS_GRADE: Final = 10  # admitted at 10/20; R-13 optional bonus above it; R-14 globale carry
CONTROLE_FLOOR: Final = 8  # the épreuves de contrôle are open from an average of 8/20
MAX_CONTROLE_UNITS: Final = 2  # two general-domain tests are retaken at the contrôle
MAX_GRADE: Final = 20  # grades are out of 20
DEFAULT_CONVOCATIONS_FROM: Final = (4, 15)  # (month, day) of the convocations when a calendar has none
