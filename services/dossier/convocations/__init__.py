"""The convocation feed (R-26): who is convoked to which tests, when and where; read by downstream
consumers through ListConvocations (archipel convocations generate is the reference one)."""

from services.dossier.convocations.feed import CandidateKey, Convocation, Test, convocations, current, fold
from services.dossier.convocations.projection import ConvocationFeedReadModel

__all__ = [
    "CandidateKey",
    "Convocation",
    "ConvocationFeedReadModel",
    "Test",
    "convocations",
    "current",
    "fold",
]
