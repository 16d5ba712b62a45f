"""Write data/faq/vectors.f16, the shipped FAQ's sentence vectors (services.faq_embed), so a
first start on an empty database embeds nothing. Run it after editing data/faq/policy.yaml
(tests/services/test_faq_index.py fails until then):

    .venv/bin/python bench/faq_vectors.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services import faq_embed  # noqa: E402

if __name__ == "__main__":
    started = time.perf_counter()
    count = faq_embed.write_shipped()
    took = time.perf_counter() - started
    print(f"{faq_embed.SHIPPED_VECTORS}: {count} vectors in {took:.1f} s")
