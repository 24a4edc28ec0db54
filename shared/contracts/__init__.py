"""The published events of each service, one module per service (its topic
`archipel.<service>.events`): the contract between services (DESIGN rule 2). The producer and
every consumer import them from here, so there is one model per event type; a service still
never imports another service.

Changing a published event means a new `schema_version` and an upcaster in the module's
`REGISTRY` (events already stored and published keep their version); `make docs` regenerates
their JSON schemas in docs/events."""
