"""The convocation feed (R-26): who is convoked to which tests, when and where; read by downstream
consumers through ListConvocations (archipel convocations generate is the reference one)."""

from services.dossier.convocations.feed import CandidateKey, Convocation, Test, convocations, current, fold
from services.dossier.convocations.projection import ConvocationFeed, list_convocations

__all__ = [
    "CandidateKey",
    "Convocation",
    "ConvocationFeed",
    "Test",
    "convocations",
    "current",
    "fold",
    "list_convocations",
]
