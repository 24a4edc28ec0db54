"""The `archipel` command line: thin wrappers over the services' gRPC APIs and the platform."""
