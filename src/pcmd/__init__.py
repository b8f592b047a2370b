"""pcmd: field data collection server and indicator pipeline for Vietnam's
prostitution-prevention programme."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
