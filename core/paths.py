"""Where the shipped data (policy FAQ, dictionaries) lives.

``CUNBOT_DATA_DIR`` wins; otherwise the source tree's ``data/`` (a checkout or an editable
install); otherwise ``./data`` under the working directory (the Docker image copies it there).
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    configured = os.environ.get("CUNBOT_DATA_DIR")
    if configured:
        return Path(configured)
    source = Path(__file__).resolve().parent.parent / "data"
    if source.is_dir():
        return source
    return Path.cwd() / "data"
