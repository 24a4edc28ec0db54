"""The names of Archipel's services, in the order of their gRPC ports (no imports: the CLI reads
it at start)."""

SERVICES = ("accounts", "registration", "documents", "results", "dossier")
