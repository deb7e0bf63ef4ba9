"""``python -m swiftnats run FILE[:setup]``: see :mod:`swiftnats.runner`."""

import sys

from .runner import main

sys.exit(main())
