from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rag.models import DataSource, KnowledgeBase
from rag.services import ingest


class Command(BaseCommand):
    help = (
        "Import (or re-sync) a server folder into a knowledge base. Each document's external id is its path "
        "relative to the folder; unchanged files are skipped and files gone from the folder are removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kb", help="The knowledge base's UUID, or its name when that is unique.")
        parser.add_argument("path", help="The folder on this server.")
        parser.add_argument("--queue", action="store_true", help="Hand the work to the Celery workers and return.")

    def handle(self, *args: Any, **options: Any) -> None:
        kb = _knowledge_base(options["kb"])
        folder = Path(options["path"]).expanduser().resolve()
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder on this server.")
        source = kb.sources.filter(kind=DataSource.Kind.FOLDER, folder_path=str(folder)).first()
        if source is None:
            source = ingest.source_create_folder(knowledge_base=kb, path=str(folder))
        batch = ingest.source_sync(source=source, enqueue=options["queue"])
        if options["queue"]:
            self.stdout.write(f"Queued batch {batch.uuid}; follow it on the knowledge base's page.")
            return
        ingest.batch_run(batch_id=batch.pk)
        batch.refresh_from_db()
        self.stdout.write(
            f"{batch.get_status_display()}: {batch.progress}/{batch.total} documents processed, "
            f"{batch.failed_count} failed, {batch.skipped_count} unchanged."
        )
        for doc in batch.documents.filter(status="failed"):
            self.stdout.write(self.style.WARNING(f"  {doc.external_id}: {doc.error_detail or doc.error}"))
        if batch.last_error and batch.status == "failed":
            raise CommandError(batch.last_error_detail or batch.last_error)


def _knowledge_base(ref: str) -> KnowledgeBase:
    try:
        return KnowledgeBase.objects.get(uuid=ref)
    except (KnowledgeBase.DoesNotExist, ValidationError):
        matches = list(KnowledgeBase.objects.filter(name=ref)[:2])
    if len(matches) != 1:
        raise CommandError(f"No single knowledge base is called or has the UUID {ref!r}.")
    return matches[0]
