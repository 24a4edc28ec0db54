"""archipel events read --service S [--candidate ID] [--type T] [--token T]: the published events of a
service's topic, from its first offset, one JSON object a line (what a downstream consumer sees).
Staff and auditors see their académie's events only; a national auditor every académie's; a candidate
token, or none, is refused (archipel_cli/readers.py). The handler is in archipel_cli/events_run.py."""

from __future__ import annotations

from archipel_cli.common import SERVICES, Later, Subparsers, add_token


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("events", help="read the events published on the topics")
    commands = parser.add_subparsers(dest="command", required=True)
    read = commands.add_parser("read", help="a topic's events from the first offset, one JSON a line")
    read.add_argument("--service", required=True, choices=SERVICES)
    read.add_argument("--candidate", help="only this candidate's events (the record key)")
    read.add_argument("--type", dest="event_type", help="only this event type, e.g. RegistrationConfirmed")
    read.add_argument("--headers", action="store_true", help="print the Kafka headers and offset too")
    add_token(read)
    read.set_defaults(handler=Later("events_run", "read"))
