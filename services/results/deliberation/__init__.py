"""The deliberation of one candidate at one session: a PURE function of the regulation, the exam form,
the session, the first-group results and the contrôle grades (DESIGN rule 1: standard library, pydantic
and the service's own models only). Rules: R-13 to R-17, R-27 to R-32.

Arithmetic is exact: grades and coefficients are Decimals (never binary floats), averages are Fractions,
and the thresholds 8 and 10 are compared on the exact values. Averages are REPORTED rounded half-up
(ROUND_HALF_UP, computed exactly on the fraction) to two decimals, as strings: 10.005 -> "10.01",
10.004999 -> "10.00".

The computation
- average (R-28, R-13, R-14, R-17): sum of coefficient x retained grade over the compulsory units that are
  not dispensed, plus, for each optional unit, coefficient x (grade - 10) when positive, divided by the sum
  of the coefficients of those compulsory units. A carried grade (bénéfice) counts as a grade.
- professional_average (R-29): the same over the compulsory professional-domain units only, without the
  optional bonus.
- outcome before contrôle: ADMIS when average >= 10; CONTROLE ("may sit the épreuves de contrôle") when
  8 <= average < 10 and professional_average >= 10; AJOURNE otherwise.
- contrôle (R-30, R-31): at most two compulsory general-domain units, each keeping the better of its two
  grades; final_average is the average with those retained grades; ADMIS when >= 10, else AJOURNE.

Interpretation decisions (each one a choice the rules leave open; tests pin them)
1. Absences (R-27). Any absence retains the grade 0 (`retained` "0.00", source "absent"). A justified
   absence (force majeure) is a grade of 0: it counts 0 in the averages and makes the unit complete for
   forme progressive. An unjustified absence from a COMPULSORY unit eliminates. An absence from an
   OPTIONAL unit never eliminates and adds nothing (0 - 10 < 0).
2. ELIMINE wins over every other outcome, INCOMPLET included. The averages of an eliminated candidate
   are still computed and reported when every compulsory unit is there (the unjustified absences count
   0), so the score sheet shows them; they are null when units are missing (forme progressive).
3. "Refused" after the contrôle (R-31) is AJOURNE; `average` stays the first-group average,
   `final_average` is the one after the contrôle, and `units` shows the grades finally retained
   (source "controle" where the contrôle grade is strictly better; on a tie the first grade stays).
4. Benefits (R-14, R-15) are granted to every candidate who is not admitted after a complete
   deliberation or who is eliminated: AJOURNE (also after a failed contrôle) and ELIMINE (an eliminated
   candidate has failed, and the grades obtained at the other units are genuine). Granted: the units
   graded AT THIS SESSION (source "grade" or "controle", compulsory or optional) whose retained grade is
   >= 10 in forme globale, or any such grade in forme progressive; valid through session + 5. A carried
   grade is not granted again (its validity runs from the session it was obtained), nor is an absence
   (no grade was obtained) nor an exemption. ADMIS, CONTROLE (deliberation not finished) and INCOMPLET
   (forme progressive, nothing to refuse yet: the grades stay in the candidate's progression) get none.
5. Forme progressive: the outcome is INCOMPLET while a compulsory unit has no result (grade, carried
   grade, justified absence or exemption); its averages are null and `units` lists the units present.
   Carried grades below 10 are allowed and count (R-15).
6. `professional_average` is null when no professional unit counts (all dispensed by VAE, or none in
   the regulation); the contrôle condition "professional average >= 10" is then NOT met (it cannot be
   checked), so such a candidate between 8 and 10 is AJOURNE.
7. `units` has an entry for every compulsory and optional unit present in the results, in the order of
   the regulation: `retained` is the grade retained as a two-decimal string, null only for a dispensed
   unit (source "dispensed") Grades may carry more decimals (they count exactly); they are only
   shown rounded. A float given programmatically is read through its shortest repr, never its binary value.
8. Contrôle grades are accepted only for a candidate whose first-group outcome is CONTROLE; a contrôle
   unit must be a compulsory general-domain unit that was not dispensed (a carried grade or a justified
   absence may be retaken: the better grade is kept). An empty `controle` is "no contrôle grades given".
9. Invalid inputs (InvalidInput naming the field): besides the contract's list, more than two optional
   units (R-13), a carried grade from the session itself or a later one, and a candidate whose every
   compulsory unit is dispensed (no average exists to deliberate on).
"""

from services.results.deliberation.compute import deliberate, deliberate_request
from services.results.deliberation.model import (
    Absence,
    CarriedGrade,
    Deliberation,
    DeliberationRequest,
    GrantedBenefit,
    Outcome,
    RetainedUnit,
    Source,
    UnitResult,
    parse_request,
    two_decimals,
)

__all__ = [
    "Absence",
    "CarriedGrade",
    "Deliberation",
    "DeliberationRequest",
    "GrantedBenefit",
    "Outcome",
    "RetainedUnit",
    "Source",
    "UnitResult",
    "deliberate",
    "deliberate_request",
    "parse_request",
    "two_decimals",
]
