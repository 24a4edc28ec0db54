"""Auditors' tools: hash-chain verification of the stores and topics, a candidate's timeline across
services, and the dossier as it stood at a moment. Works on raw rows and records (never `services`)."""
