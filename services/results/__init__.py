"""The results service: grades, absences, the deliberation (R-13 to R-17, R-27 to R-32) and carried grades."""
