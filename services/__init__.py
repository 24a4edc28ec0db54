"""Archipel's services. A service never imports another service."""
