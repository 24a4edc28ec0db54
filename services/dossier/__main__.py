"""python -m services.dossier [serve|relay|projections]"""

import sys

from services.dossier.app import SPEC, serve
from shared.service import service_main

if __name__ == "__main__":
    sys.exit(service_main(SPEC, serve))
