"""``manage.py serve_deployment <name>``: start a deployment's vLLM engine on this machine from its settings.

The engine flags are the ones the launch planner shows; on a CPU deployment the environment is the CPU backend's
(the same that scripts/vllm-serve.sh sets). ``--print`` shows the command instead of running it.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from deployments.launch import local_launch
from deployments.models import Deployment


class Command(BaseCommand):
    help = "Start a deployment's vLLM engine on this machine from its stored settings."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", help="The deployment's name (or its UUID).")
        parser.add_argument("--print", action="store_true", help="Print the environment and command; start nothing.")
        parser.add_argument("--python", help="The model server's Python (default: var/vllm-venv/bin/python).")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        query = Q(name=name)
        if len(name) == 36:
            query |= Q(uuid=name)
        deployment = Deployment.objects.select_related("hardware").filter(query).first()
        if deployment is None:
            known = ", ".join(Deployment.objects.values_list("name", flat=True)[:10]) or "none yet"
            raise CommandError(f"No deployment called {name!r}. Registered: {known}.")
        if deployment.engine != Deployment.Engine.VLLM:
            raise CommandError(f"{deployment.name} is an OpenAI-compatible endpoint, not a vLLM server to start here.")
        base_dir = Path(settings.BASE_DIR)
        python = Path(options["python"]) if options["python"] else None
        argv, extra_env = local_launch(deployment, base_dir=base_dir, python=python)
        shown_env = {k: ("***" if k == "VLLM_API_KEY" else v) for k, v in extra_env.items()}
        line = " ".join(f"{k}={v}" for k, v in shown_env.items()) + (" " if shown_env else "") + shlex.join(argv)
        if options["print"]:
            self.stdout.write(line)
            return
        if not Path(argv[0]).exists():
            raise CommandError(f"{argv[0]} does not exist: install the model server (make model) or pass --python.")
        self.stderr.write(f"Starting {deployment.name}: {line}")
        os.chdir(base_dir)
        os.execve(argv[0], argv, {**os.environ, **extra_env})  # noqa: S606 - replaces this process, like exec in a shell script
