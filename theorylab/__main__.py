"""``python -m theorylab`` runs the command line."""

import sys

from theorylab.cli import main

sys.exit(main())
