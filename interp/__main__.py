"""``python -m interp report ...``"""

import sys

from .cli import main

sys.exit(main())
