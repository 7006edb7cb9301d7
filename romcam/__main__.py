"""Entry point for ``python -m romcam``."""

import sys

from romcam.cli import main

sys.exit(main())
