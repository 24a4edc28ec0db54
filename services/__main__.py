"""`python -m services NAME [serve|relay|projections]`: one role of one of Archipel's services."""

import sys

from shared.launch import main
from shared.names import SERVICES

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in SERVICES:
        sys.exit(f"usage: python -m services {{{','.join(SERVICES)}}} [serve|relay|projections]")
    sys.exit(main([f"services.{sys.argv[1]}.service", *sys.argv[2:]], prog="python -m services"))
