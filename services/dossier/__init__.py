"""The dossier service: the read side gathering a candidate's session from the four topics.

Words, one meaning each in this package:
- a *dossier* is what this service shows: one candidate's session (every specialty), folded into
  a `DossierSummary` with a `SpecialtyStatus` per specialty (services.dossier.fold). The
  documents service's stream of a candidate, session and specialty is "the documents stream"
  (`Source.DOCUMENTS`, its `DocumentsPart`); its event names (DossierComplete...) are its contract.
- a *read model* is a projection's tables: `DossierReadModel`, `ConvocationFeedReadModel`.
- *view* names nothing of ours: it survives only in the stored and wire names kept as they were
  (the `dossier_views` table and consumer group, its `view` column, the DossierView and
  SpecialtyView proto messages).
"""
