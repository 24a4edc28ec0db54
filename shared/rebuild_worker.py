"""A rebuild process (shared.rebuild): `python -m shared.rebuild_worker [MODULE...]` imports the
modules, then reads its job pickled on its standard input (None: it is not needed) and answers
shared.rebuild.Done, or what went wrong, pickled on its standard output. Anything printed
meanwhile goes to standard error, so that it cannot garble the answer."""

from __future__ import annotations

import asyncio
import importlib
import os
import pickle
import sys
import traceback

from shared.rebuild import Job, replay_job


def main() -> int:
    answer_to = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        for module in sys.argv[1:]:  # loaded while the coordinator prepares the job
            importlib.import_module(module)
        job = pickle.load(sys.stdin.buffer)
        if job is not None and not isinstance(job, Job):
            raise TypeError(f"expected a rebuild job, got {type(job).__name__}")
        answer: object = None if job is None else asyncio.run(replay_job(job))
        status = 0
    except BaseException:  # a CancelledError too: the coordinator always gets the reason
        answer, status = traceback.format_exc(limit=8), 1
    with answer_to:
        pickle.dump(answer, answer_to)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
