"""`make run`: start the whole stack on its embedded defaults and keep it running until Ctrl-C.

Order: preflight checks, a supervisord (the `supervisor` package) that keeps every process up, PostgreSQL (embedded
unless DATABASE_URL is set), Redis (REDIS_URL, or a local redis-server started here), migrations, demo seed, then
every process of the Procfile (web, worker, beat, the local vLLM, ...). A process that dies is restarted (with a
longer wait each time it dies again while starting) and a line on the terminal says so; the embedded PostgreSQL and
the local Redis are kept up the same way. It waits until every part answers its health check, prints the URL and the
demo logins, and on Ctrl-C stops everything it started. Anything that cannot start stops it with one line that says
what failed and what to do.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import redis
from honcho.environ import parse_procfile
from supervisor.xmlrpc import SupervisorTransport

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from accounts.personas import PERSONAS  # after the project root is on the path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var"
PY = sys.executable
MIN_FREE_DISK = 2 * 1024**3
# Passed to every supervised process on top of supervisord's own environment (decided while starting).
STACK_ENV = ("DATABASE_URL", "REDIS_URL", "LOCAL_VLLM_URL", "PYTHONUNBUFFERED")


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
    for name, default in (("WEB_PORT", "8000"), ("VLLM_PORT", "8001"), ("GATEWAY_PORT", "8002")):
        port = int(env.get(name, default))
        if not port_free(env.get("WEB_HOST", "127.0.0.1") if name == "WEB_PORT" else "127.0.0.1", port):
            raise StartError(f"port {port} is taken by another program; stop it or set {name} to a free port.")


def _quote(value: str) -> str:
    """A value for supervisord's configuration: '%' is its interpolation character."""
    return value.replace("%", "%%")


class Supervisor:
    """One supervisord for the stack, with programs added while it runs (its config includes one file per program).

    Its socket and files live under ``var/run`` of this checkout, so two checkouts never share one.
    """

    def __init__(self, env: dict[str, str], run_dir: Path | None = None) -> None:
        self.env = env
        self.dir = run_dir or Path(env.get("FDE_RUN_DIR", str(VAR / "run")))
        self.programs = self.dir / "programs"
        self.log_dir = self.dir.parent / "log"
        for folder in (self.programs, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for old in self.programs.glob("*.conf"):
            old.unlink()
        self.socket = self.dir / "supervisor.sock"
        config = self.dir / "supervisord.conf"
        config.write_text(
            f"""[unix_http_server]
file={self.socket}
chmod=0700

[supervisord]
nodaemon=true
silent=true
{"user=root" if os.geteuid() == 0 else ""}
logfile={self.log_dir / "supervisord.log"}
pidfile={self.dir / "supervisord.pid"}
childlogdir={self.log_dir}
minfds=1024

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.socket}

[eventlistener:events]
command={PY} {BASE_DIR / "scripts" / "supervisor_events.py"}
events=PROCESS_LOG,PROCESS_STATE
buffer_size=10000
stderr_logfile=/dev/stdout
stderr_logfile_maxbytes=0
priority=1

[include]
files={self.programs}/*.conf
"""
        )
        self.proc = subprocess.Popen(
            [PY, "-m", "supervisor.supervisord", "-c", str(config)],
            cwd=BASE_DIR,
            env=env,
            start_new_session=True,  # Ctrl-C reaches run.py only, which stops the stack in order
        )
        for _ in range(100):
            try:
                if self.rpc.supervisor.getState()["statename"] == "RUNNING":
                    return
            except (OSError, xmlrpc.client.Fault, http.client.HTTPException):
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise StartError(f"the process supervisor did not start; see {self.log_dir / 'supervisord.log'}.")

    def add(
        self,
        name: str,
        command: str,
        *,
        priority: int = 100,
        user: str | None = None,
        stopsignal: str = "TERM",
        startsecs: int = 5,
    ) -> None:
        """Start ``command`` (run by /bin/sh, so Procfile-style ${VAR:-default} works) and keep it running."""
        environment = ",".join(f'{k}="{_quote(self.env[k])}"' for k in STACK_ENV if k in self.env)
        shell = _quote(f"exec {command}").replace('"', '\\"')
        (self.programs / f"{name}.conf").write_text(
            f"""[program:{name}]
command=/bin/sh -c "{shell}"
directory={BASE_DIR}
environment={environment}
{f"user={user}" if user else ""}
priority={priority}
autostart=true
autorestart=true
startsecs={startsecs}
startretries=60
stopsignal={stopsignal}
stopwaitsecs=30
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={self.log_dir / f"{name}.log"}
stdout_logfile_maxbytes=20MB
stdout_logfile_backups=3
stdout_events_enabled=true
"""
        )
        self.rpc.supervisor.reloadConfig()
        self.rpc.supervisor.addProcessGroup(name)

    @property
    def rpc(self) -> Any:
        # A fresh proxy per call: a request that failed leaves the transport's connection unusable.
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def info(self, name: str) -> dict[str, Any]:
        return self.rpc.supervisor.getProcessInfo(name)  # type: ignore[return-value]

    def failed(self) -> list[str]:
        return [p["name"] for p in self.rpc.supervisor.getAllProcessInfo() if p["statename"] == "FATAL"]

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def terminate(self) -> None:
        """Stop every program (the Procfile's first, then Redis and PostgreSQL), then supervisord itself."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)


def start_postgres(env: dict[str, str], supervisor: Supervisor) -> None:
    if env.get("DATABASE_URL"):
        say("PostgreSQL: using DATABASE_URL")
        return
    from config import embedded_db

    pgdata = Path(env.get("FDE_EMBEDDED_PGDATA", str(VAR / "pgdata")))
    running = embedded_db.running_uri(pgdata)
    if running:
        env["DATABASE_URL"] = running
        say(f"PostgreSQL already running on {pgdata} (started outside make run, so not restarted by it)")
        return
    try:
        command, user = embedded_db.foreground_command(pgdata)
    except Exception as exc:
        raise StartError(f"the embedded PostgreSQL could not be prepared ({exc}); see {pgdata}/log.") from exc
    supervisor.add(
        "postgres",
        " ".join(f"'{part}'" for part in command),
        priority=10,
        user=user,
        stopsignal="INT",  # PostgreSQL's fast shutdown: open sessions end, data is kept
        startsecs=2,
    )
    for _ in range(300):
        uri = embedded_db.running_uri(pgdata)
        if uri and _postgres_ready(uri):
            embedded_db.ensure_database(embedded_db.running_uri(pgdata, "postgres") or uri)
            env["DATABASE_URL"] = uri
            say(f"PostgreSQL started (embedded, data in {pgdata}, kept running by the supervisor)")
            return
        if supervisor.info("postgres")["statename"] in {"FATAL", "BACKOFF"}:
            break
        time.sleep(0.1)
    raise StartError(f"the embedded PostgreSQL did not start; see {supervisor.log_dir / 'postgres.log'}.")


def _postgres_ready(uri: str) -> bool:
    import psycopg

    try:
        psycopg.connect(uri.replace("/fde?", "/postgres?"), connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


def start_redis(env: dict[str, str], supervisor: Supervisor | None = None) -> Supervisor | None:
    """Use the Redis at REDIS_URL, or start a local redis-server under ``supervisor`` (a new one when None).

    Returns the supervisor that runs it, or None when a Redis already answered.
    """
    url = env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    if _redis_answers(url):
        say(f"Redis answering at {url}")
        return None
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
    supervisor = supervisor or Supervisor(env)
    command = f"{binary} --bind 127.0.0.1 --port {port} --save '' --appendonly no --dir {VAR}"
    supervisor.add("redis", command, priority=10, startsecs=1)
    for _ in range(100):
        if _redis_answers(url):
            say(f"Redis started on port {port} (kept running by the supervisor)")
            return supervisor
        time.sleep(0.1)
    raise StartError(f"redis-server did not start on port {port}; see {supervisor.log_dir / 'redis.log'}.")


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([PY, "manage.py", *args], cwd=BASE_DIR, env=env)
    if result.returncode != 0:
        raise StartError(f"`manage.py {' '.join(args)}` failed (exit {result.returncode}); the output above says why.")


def _model_answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url.rstrip('/')}/models", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def start_processes(env: dict[str, str], supervisor: Supervisor) -> list[str]:
    """Every process of the Procfile, kept running; the local model server only when none answers already."""
    processes = parse_procfile((BASE_DIR / "Procfile").read_text()).processes
    started = []
    for name, command in processes.items():
        if name == "vllm" and "LOCAL_VLLM_URL" in os.environ and _model_answers(env["LOCAL_VLLM_URL"]):
            say(f"a model server already answers at {env['LOCAL_VLLM_URL']}; not starting the local vLLM")
            continue
        supervisor.add(name, command)
        started.append(name)
    return started


def wait_healthy(env: dict[str, str], supervisor: Supervisor, url: str) -> None:
    deadline = time.monotonic() + float(env.get("FDE_START_TIMEOUT", "420"))
    last = ""
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            raise StartError("the process supervisor exited while starting; its output above says why.")
        failed = supervisor.failed()
        if failed:
            raise StartError(f"{', '.join(failed)} kept exiting while starting; see var/log/{failed[0]}.log for why.")
        try:
            health = httpx.get(f"{url}/healthz", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            health = None
        if health and health["status"] == "ok" and _answers(f"{gateway_url(env)}/healthz"):
            return
        # The anonymous report: up/down per component, which is all that waiting needs; then the gateway.
        if not health:
            waiting = "web"
        elif health["status"] == "ok":
            waiting = "gateway"
        else:
            waiting = ", ".join(n for n, state in health["components"].items() if state != "up")
        if waiting != last:
            say(f"waiting for: {waiting}")
            last = waiting
        time.sleep(1)
    raise StartError(
        f"the stack was not healthy after the start timeout; still waiting for: {last}. See {url}/healthz."
    )


def gateway_url(env: dict[str, str]) -> str:
    host = env.get("GATEWAY_HOST", "127.0.0.1").replace("0.0.0.0", "127.0.0.1")  # noqa: S104
    return f"http://{host}:{env.get('GATEWAY_PORT', '8002')}"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> int:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    host, port = env.get("WEB_HOST", "127.0.0.1"), env.get("WEB_PORT", "8000")
    url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"  # noqa: S104
    env.setdefault("LOCAL_VLLM_URL", f"http://127.0.0.1:{env.get('VLLM_PORT', '8001')}/v1")
    supervisor: Supervisor | None = None

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Set explicitly: a shell that starts us in the background hands down SIGINT as ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        preflight(env)
        supervisor = Supervisor(env)
        say(f"process supervisor started (its log: {supervisor.log_dir / 'supervisord.log'})")
        start_postgres(env, supervisor)
        start_redis(env, supervisor)
        say("applying migrations")
        manage(env, "migrate", "--noinput")
        say("seeding demo data")
        manage(env, "seed_demo")
        names = start_processes(env, supervisor)
        say(f"starting {', '.join(names)} (the local vLLM's first start takes about a minute)")
        wait_healthy(env, supervisor, url)

        print("\n" + "=" * 72)
        print(f"  FDE Toolkit is running at {url}/")
        print("  Demo logins:")
        for persona in PERSONAS:
            print(f"    {persona.email:30} {persona.password:18} {persona.description}")
        print(f"  OpenAI-compatible gateway: {gateway_url(env)}/v1   (keys: Deployments → Client applications)")
        print(f"  Health: {url}/healthz   Admin: {url}/admin/   Stop: Ctrl-C")
        print("  A process that stops is restarted; each restart is announced here with ==>.")
        print("=" * 72 + "\n", flush=True)
        return supervisor.wait()
    except StartError as exc:
        print(f"make run: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if supervisor and supervisor.poll() is None:
            say("stopping every process (PostgreSQL and Redis last)")
            supervisor.terminate()
            try:
                supervisor.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(supervisor.proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
