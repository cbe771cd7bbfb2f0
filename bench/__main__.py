"""``make bench``: every benchmark in turn, each writing its section of bench/README.md.

langchain-postgres (the peer the knowledge-base benchmarks compare against) pins pgvector below 0.4 while the app
uses 0.5, so it is installed here without its dependencies rather than declared in pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

BENCHES = [
    "bench.ingest",
    "bench.query",
    "bench.retrieval",
    "bench.answer",
    "bench.eval",
    "bench.call_log",
    "bench.roi",
    "bench.gateway",
    "bench.dashboard",
    "bench.loadtest",
]


def main() -> None:
    if importlib.util.find_spec("langchain_postgres") is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "langchain-postgres>=0.0.13,<0.1",
             "psycopg-pool>=3.2,<4", "asyncpg>=0.30"],
            check=True,
        )  # fmt: skip
    failed = []
    for module in BENCHES:
        print(f"== {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module, "--write"], check=False).returncode != 0:
            failed.append(module)
    if failed:
        sys.exit(f"these benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
