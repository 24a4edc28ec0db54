"""The documents service (see the issues that build it; nothing is implemented here yet)."""
