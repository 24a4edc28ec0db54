"""archipel accounts create | activate | resend-activation | login | request-reset | reset-password | show |
bootstrap-staff | bootstrap-reset-totp | create-staff | deactivate | reset-totp | enroll-totp | confirm-totp"""

from __future__ import annotations

from typing import Any

from archipel_cli.common import Later, Subparsers

# The roles bootstrap-staff creates: shared.auth.Role.ACADEMY_ADMIN and Role.NATIONAL_AUDITOR (its
# académie is where the account belongs; it reads every académie), and those an académie's
# administrator creates (create-staff): Role.STAFF and Role.AUDITOR, told here so that the parser
# imports no pydantic (a unit test keeps them equal).
BOOTSTRAP_ROLES = ("academy_admin", "national_auditor")
STAFF_ROLES = ("staff", "auditor")


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("accounts", help="candidate and staff accounts")
    parser.add_argument("--target", help="accounts gRPC address (default from settings)")
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser(
        "create",
        help="create a candidate account (an activation link is emailed; the password is chosen at activation)",
    )
    create.add_argument("--last-name", required=True)
    create.add_argument("--first-names", required=True)
    create.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    create.add_argument("--email", required=True)
    create.add_argument("--academy", required=True, help="e.g. aix-marseille")
    create.set_defaults(handler=Later("accounts_run", "create"))

    activate = commands.add_parser(
        "activate", help="activate with the token of the emailed link, choosing the password"
    )
    activate.add_argument("token")
    activate.add_argument("--password", help="the password chosen now; else ARCHIPEL_PASSWORD, else asked")
    activate.set_defaults(handler=Later("accounts_run", "activate"))

    resend = commands.add_parser("resend-activation", help="email a new activation link")
    resend.add_argument("email")
    resend.set_defaults(handler=Later("accounts_run", "resend"))

    login = commands.add_parser("login", help="log in; prints a bearer token (export ARCHIPEL_TOKEN=...)")
    login.add_argument("--email", required=True)
    login.add_argument("--password")
    login.add_argument(
        "--totp", help="the second factor's code (staff, auditors, administrators); else ARCHIPEL_TOTP, else asked"
    )
    login.set_defaults(handler=Later("accounts_run", "login"))

    request_reset = commands.add_parser("request-reset", help="email a password reset link (valid one hour)")
    request_reset.add_argument("email")
    request_reset.set_defaults(handler=Later("accounts_run", "request_reset"))

    reset = commands.add_parser("reset-password", help="choose a new password with the token of the reset link")
    reset.add_argument("token")
    reset.add_argument("--password", help="the new password; else ARCHIPEL_PASSWORD, else asked")
    reset.set_defaults(handler=Later("accounts_run", "reset_password"))

    show = commands.add_parser("show", help="an account as the read model knows it")
    show.add_argument("account_id")
    show.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN)")
    show.set_defaults(handler=Later("accounts_run", "show"))

    staff = commands.add_parser(
        "bootstrap-staff",
        help="create an active académie administrator or national auditor account (on the server, no gRPC)",
    )
    staff.add_argument("--email", required=True)
    staff.add_argument("--academy", required=True)
    staff.add_argument("--role", choices=list(BOOTSTRAP_ROLES), default=BOOTSTRAP_ROLES[0])
    staff.add_argument("--last-name", required=True)
    staff.add_argument("--first-names", required=True)
    staff.add_argument("--password")
    staff.set_defaults(handler=Later("accounts_run", "bootstrap_staff"))
    server_reset = commands.add_parser(
        "bootstrap-reset-totp",
        help="reset an académie administrator's or a national auditor's lost second factor (on the server, no gRPC)",
    )
    server_reset.add_argument("account_id")
    server_reset.add_argument("--reason", required=True, help="why (at most 500 characters)")
    server_reset.add_argument("--operator", required=True, help="who resets it (the event's actor)")
    server_reset.set_defaults(handler=Later("accounts_run", "bootstrap_reset_totp"))
    _administration(commands)


def _administration(commands: Any) -> None:
    """An académie administrator's commands (through the accounts service, with its token)."""
    create_staff = commands.add_parser(
        "create-staff",
        help="(académie administrator) create a staff or auditor account; its owner activates it from the mail",
    )
    create_staff.add_argument("--email", required=True)
    create_staff.add_argument("--role", choices=list(STAFF_ROLES), default=STAFF_ROLES[0])
    create_staff.add_argument("--last-name", required=True)
    create_staff.add_argument("--first-names", required=True)
    create_staff.add_argument("--academy", default="", help="default: the administrator's")
    create_staff.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN, else the session)")
    create_staff.set_defaults(handler=Later("accounts_run", "create_staff"))

    deactivate = commands.add_parser(
        "deactivate", help="(académie administrator) deactivate a staff or auditor account: its tokens stop at once"
    )
    deactivate.add_argument("account_id")
    deactivate.add_argument("--reason", required=True, help="why (at most 500 characters)")
    deactivate.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN, else the session)")
    deactivate.set_defaults(handler=Later("accounts_run", "deactivate"))

    reset_totp = commands.add_parser(
        "reset-totp",
        help="(académie administrator) reset a staff or auditor account's lost second factor: its sessions end,"
        " its next login enrols a new one",
    )
    reset_totp.add_argument("account_id")
    reset_totp.add_argument("--reason", required=True, help="why (at most 500 characters)")
    reset_totp.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN, else the session)")
    reset_totp.set_defaults(handler=Later("accounts_run", "reset_totp"))

    enroll = commands.add_parser(
        "enroll-totp", help="(staff, auditors, administrators) a second factor's secret for an authenticator app"
    )
    enroll.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN, else the session of `login`)")
    enroll.add_argument("--no-qr", action="store_true", help="print the secret and the URI only, no QR code")
    enroll.set_defaults(handler=Later("accounts_run", "enroll_totp"))

    confirm = commands.add_parser("confirm-totp", help="enrol the second factor with the app's current code")
    confirm.add_argument("code")
    confirm.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN, else the session of `login`)")
    confirm.set_defaults(handler=Later("accounts_run", "confirm_totp"))
