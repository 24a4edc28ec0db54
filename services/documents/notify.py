"""R-24: a dossier declared incomplete or irregular, or rejected, is announced by email after the
commit (the candidate space shows it too, from the dossier's events). The candidate's address
comes from the shared known accounts; a mail server that is down loses nothing but the email."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from services.documents.commands import DeclareIncomplete, RejectDossier
from services.documents.domain import DossierState
from shared.mail import compose
from shared.pipeline import Decision

if TYPE_CHECKING:
    from services.documents.service import DocumentsPorts

log = logging.getLogger(__name__)


def message(command: DeclareIncomplete | RejectDossier) -> tuple[str, str]:
    """The subject and body of the email (after the greeting)."""
    where = f"session {command.session}, {command.specialty}"
    if isinstance(command, RejectDossier):
        return (
            "Votre dossier d'inscription au BTS est rejeté",
            f"Votre dossier d'inscription ({where}) est rejeté.\n\nMotif : {command.reason}\n",
        )
    lines = [f"- pièce manquante : {kind}" for kind in command.missing] + [
        f"- pièce non conforme : {kind}" for kind in command.wrong
    ]
    return (
        "Votre dossier d'inscription au BTS est incomplet",
        f"Votre dossier d'inscription ({where}) est incomplet ou irrégulier.\n\n"
        + "\n".join(lines)
        + f"\n\n{command.note}\n\nConsultez votre espace candidat.\n",
    )


async def mail_decision(
    ports: DocumentsPorts, decision: Decision[DeclareIncomplete | RejectDossier, DossierState, Any]
) -> None:
    command = decision.call.command
    contact = await ports.facts.contact(command.candidate_id)
    if contact is None:
        log.warning("no email known for candidate %s", command.candidate_id)
        return
    subject, body = message(command)
    greeting = f"Bonjour {contact.first_names} {contact.last_name},\n\n"
    try:
        await ports.mailer.send(compose(ports.mail_from, contact.email, subject, greeting + body))
    except OSError:
        log.exception("the email to %s could not be sent (the notification is in the candidate space)", contact.email)
