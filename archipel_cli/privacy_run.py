"""The handler of `archipel privacy forget` (archipel_cli.privacy)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from uuid import UUID

import asyncpg

from archipel_cli.runtime import settings
from shared.errors import ArchipelError


def forget(arguments: argparse.Namespace) -> int:
    from services.accounts.forget import forget_candidate  # noqa: PLC0415

    try:
        candidate = UUID(arguments.candidate)
    except ValueError:
        print("error: candidate: not a candidate id (a UUID)", file=sys.stderr)
        return 2
    try:
        done = asyncio.run(
            forget_candidate(settings(), candidate, reason=arguments.reason, operator=arguments.operator)
        )
    except ArchipelError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    except asyncpg.InsufficientPrivilegeError:
        print("error: only the key store's role may destroy a key (pg-keystore)", file=sys.stderr)
        return 3
    print(json.dumps({"candidate_id": str(done.candidate_id), "forgotten": True, "already": done.already}))
    return 0
