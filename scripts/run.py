"""`make run`: start the whole stack on its embedded defaults and keep it running until Ctrl-C.

Order: preflight checks, PostgreSQL (embedded unless DATABASE_URL is set), Redis (REDIS_URL, or a local
redis-server started here), migrations, demo seed, then web, worker, beat and the local vLLM under honcho. It waits
until every part answers its health check, prints the URL and the demo logins, and on Ctrl-C stops everything it
started. Anything that cannot start stops it with one line that says what failed and what to do.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from accounts.personas import PERSONAS  # after the project root is on the path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var"
PY = sys.executable
MIN_FREE_DISK = 2 * 1024**3


class StartError(Exception):
    pass


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def preflight(env: dict[str, str]) -> None:
    VAR.mkdir(exist_ok=True)
    free = shutil.disk_usage(VAR).free
    if free < MIN_FREE_DISK:
        raise StartError(f"only {free // 1024**2} MiB free on {VAR}; free at least 2 GiB and run `make run` again.")
    for name, default in (("WEB_PORT", "8000"), ("VLLM_PORT", "8001")):
        port = int(env.get(name, default))
        if not port_free(env.get("WEB_HOST", "127.0.0.1") if name == "WEB_PORT" else "127.0.0.1", port):
            raise StartError(f"port {port} is taken by another program; stop it or set {name} to a free port.")


def start_postgres(env: dict[str, str]) -> Path | None:
    if env.get("DATABASE_URL"):
        say("PostgreSQL: using DATABASE_URL")
        return None
    from config import embedded_db

    pgdata = Path(env.get("FDE_EMBEDDED_PGDATA", str(VAR / "pgdata")))
    started_here = embedded_db.running_uri(pgdata) is None
    try:
        server = embedded_db.start(pgdata)
    except Exception as exc:
        raise StartError(f"the embedded PostgreSQL did not start ({exc}); see {pgdata}/log.") from exc
    env["DATABASE_URL"] = server.get_uri(database=embedded_db.DATABASE_NAME)
    say(f"PostgreSQL {'started' if started_here else 'already running'} (embedded, data in {pgdata})")
    return pgdata if started_here else None


def start_redis(env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    url = env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        say(f"Redis answering at {url}")
        return None
    except redis.RedisError:
        pass
    parsed = urlparse(url)
    if parsed.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise StartError(f"Redis at {url} does not answer; start it or point REDIS_URL at one that does.")
    binary = shutil.which("redis-server")
    if binary is None:
        raise StartError(
            f"no Redis answers at {url} and there is no redis-server to start; install Redis "
            "(apt-get install redis-server) or set REDIS_URL."
        )
    port = parsed.port or 6379
    (VAR / "log").mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(VAR),
        ],
        stdout=(VAR / "log" / "redis.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(50):
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            say(f"Redis started on port {port}")
            return proc
        except redis.RedisError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    raise StartError(f"redis-server did not start on port {port}; see var/log/redis.log.")


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([PY, "manage.py", *args], cwd=BASE_DIR, env=env)
    if result.returncode != 0:
        raise StartError(f"`manage.py {' '.join(args)}` failed (exit {result.returncode}); the output above says why.")


def wait_healthy(env: dict[str, str], honcho: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + float(env.get("FDE_START_TIMEOUT", "420"))
    last = ""
    while time.monotonic() < deadline:
        if honcho.poll() is not None:
            raise StartError("a process of the stack exited while starting; its output above says why.")
        try:
            health = httpx.get(f"{url}/healthz", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            health = None
        if health and health["status"] == "ok":
            return
        # The anonymous report: up/down per component, which is all that waiting needs.
        waiting = "web" if not health else ", ".join(n for n, state in health["components"].items() if state != "up")
        if waiting != last:
            say(f"waiting for: {waiting}")
            last = waiting
        time.sleep(1)
    raise StartError(
        f"the stack was not healthy after the start timeout; still waiting for: {last}. See {url}/healthz."
    )


def main() -> int:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    host, port = env.get("WEB_HOST", "127.0.0.1"), env.get("WEB_PORT", "8000")
    url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"  # noqa: S104
    env.setdefault("LOCAL_VLLM_URL", f"http://127.0.0.1:{env.get('VLLM_PORT', '8001')}/v1")
    pg = redis_proc = honcho = None
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    # Set explicitly: a shell that starts us in the background hands down SIGINT as ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        preflight(env)
        pg = start_postgres(env)
        redis_proc = start_redis(env)
        say("applying migrations")
        manage(env, "migrate", "--noinput")
        say("seeding demo data")
        manage(env, "seed_demo")
        say("starting web, worker, beat and the local vLLM (its first start takes about a minute)")
        honcho = subprocess.Popen(
            [PY, "-m", "honcho", "start", "-f", "Procfile"], cwd=BASE_DIR, env=env, start_new_session=True
        )
        wait_healthy(env, honcho, url)

        print("\n" + "=" * 72)
        print(f"  FDE Toolkit is running at {url}/")
        print("  Demo logins:")
        for persona in PERSONAS:
            print(f"    {persona.email:30} {persona.password:18} {persona.description}")
        print(f"  Health: {url}/healthz   Admin: {url}/admin/   Stop: Ctrl-C")
        print("=" * 72 + "\n", flush=True)
        return honcho.wait()
    except StartError as exc:
        print(f"make run: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if honcho and honcho.poll() is None:
            say("stopping web, worker, beat and the local vLLM")
            honcho.send_signal(signal.SIGTERM)
            try:
                honcho.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(honcho.pid, signal.SIGKILL)
        if redis_proc and redis_proc.poll() is None:
            redis_proc.terminate()
            redis_proc.wait(10)
        if pg is not None:
            say("stopping PostgreSQL")
            from config import embedded_db

            embedded_db.stop(pg)


if __name__ == "__main__":
    sys.exit(main())
