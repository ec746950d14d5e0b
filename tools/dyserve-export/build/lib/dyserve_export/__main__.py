"""python -m dyserve_export: the dyserve-export command."""

import sys

from .cli import main

sys.exit(main())
