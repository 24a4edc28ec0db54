"""The mails of the accounts service: the activation link, the password reset link, and the
warning to an account's owner that someone tried to create an account with their address."""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage

from shared.french import short_date_time
from shared.mail import Mailer, compose

log = logging.getLogger(__name__)


def activation(
    sender: str, to: str, *, name: str, academy: str, link: str, token: str, expires_at: datetime
) -> EmailMessage:
    body = (
        f"Bonjour {name},\n\n"
        f"Votre compte candidat a été créé pour l'académie {academy}.\n"
        f"Activez-le dans les 48 heures, avant le {short_date_time(expires_at)} (heure de Paris), "
        "en ouvrant ce lien ; vous y choisirez votre mot de passe :\n\n"
        f"{link}?jeton={token}\n\n"
        f"Code d'activation : {token}\n\n"
        "Passé ce délai, demandez un nouveau lien depuis la page de connexion.\n"
        "Si vous n'avez pas demandé ce compte, ignorez ce message : il expirera sans avoir servi.\n"
    )
    return compose(sender, to, "Activez votre compte Archipel", body)


def reset(  # noqa: PLR0917 (the mail's parts, each a string)
    sender: str, to: str, name: str, link: str, token: str, expires_at: datetime
) -> EmailMessage:
    body = (
        f"Bonjour {name},\n\n"
        "Une réinitialisation du mot de passe de votre compte Archipel a été demandée.\n"
        f"Choisissez un nouveau mot de passe avant le {short_date_time(expires_at)} (heure de Paris) "
        "en ouvrant ce lien (il ne sert qu'une fois) :\n\n"
        f"{link}?reinitialisation={token}\n\n"
        f"Code de réinitialisation : {token}\n\n"
        "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe ne change pas.\n"
    )
    return compose(sender, to, "Réinitialisez votre mot de passe Archipel", body)


def creation_attempt(sender: str, to: str) -> EmailMessage:
    body = (
        "Bonjour,\n\n"
        "Quelqu'un a tenté de créer un compte Archipel avec votre adresse, qui a déjà un compte actif.\n"
        "Votre compte n'a pas changé. Si c'était vous, connectez-vous, ou demandez la réinitialisation "
        "de votre mot de passe depuis la page de connexion.\n"
    )
    return compose(sender, to, "Tentative de création de compte Archipel", body)


async def send(mailer: Mailer, message: EmailMessage) -> None:
    """After the commit: a mail server down loses no state (the candidate asks for a new link)."""
    try:
        await mailer.send(message)
    except OSError:
        log.exception("the mail %r to %s could not be sent", message["Subject"], message["To"])
