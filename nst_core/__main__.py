"""``python -m nst_core``: the command line (see ``nst_core.cli``)."""

from .cli import main

raise SystemExit(main())
