"""Reads for prototypes, answers, eval data and feedback, each scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from engagements.selectors import engagement_list_for_user
from rag.models import Answer, Conversation, EvalDataset, EvalRun, Feedback, Prototype, PrototypeVersion


def _engagements(user: Any) -> QuerySet[Any]:
    return engagement_list_for_user(user=user).values("pk")


def prototype_list_for_user(*, user: Any) -> QuerySet[Prototype]:
    return (
        Prototype.objects.filter(knowledge_base__engagement__in=_engagements(user))
        .select_related("knowledge_base__engagement__client")
        .annotate(version_count=Max("versions__number"))
        .order_by("knowledge_base__engagement__name", "name")
    )


def prototype_get_for_user(*, user: Any, uuid: Any) -> Prototype | None:
    return prototype_list_for_user(user=user).filter(uuid=uuid).first()


def prototype_latest_version(*, prototype: Prototype) -> PrototypeVersion:
    return prototype.versions.select_related("deployment", "embedding_model").order_by("-number").first()  # type: ignore[return-value]


def version_get_for_user(*, user: Any, uuid: Any) -> PrototypeVersion | None:
    return (
        PrototypeVersion.objects.filter(uuid=uuid, prototype__knowledge_base__engagement__in=_engagements(user))
        .select_related("prototype__knowledge_base__engagement", "deployment", "embedding_model")
        .first()
    )


def answer_list_for_user(*, user: Any) -> QuerySet[Answer]:
    return Answer.objects.filter(version__prototype__knowledge_base__engagement__in=_engagements(user)).select_related(
        "version__prototype__knowledge_base__engagement", "version__deployment"
    )


def answer_get_for_user(*, user: Any, uuid: Any) -> Answer | None:
    return answer_list_for_user(user=user).filter(uuid=uuid).first()


def dataset_list_for_user(*, user: Any) -> QuerySet[EvalDataset]:
    return (
        EvalDataset.objects.filter(knowledge_base__engagement__in=_engagements(user))
        .select_related("knowledge_base__engagement")
        .annotate(
            ready_count=Count("cases", filter=Q(cases__status="ready"), distinct=True),
            draft_count=Count("cases", filter=Q(cases__status="draft"), distinct=True),
        )
    )


def dataset_get_for_user(*, user: Any, uuid: Any) -> EvalDataset | None:
    return dataset_list_for_user(user=user).filter(uuid=uuid).first()


def run_list_for_user(*, user: Any) -> QuerySet[EvalRun]:
    return EvalRun.objects.filter(dataset__knowledge_base__engagement__in=_engagements(user)).select_related(
        "dataset__knowledge_base__engagement", "version__prototype"
    )


def run_get_for_user(*, user: Any, uuid: Any) -> EvalRun | None:
    return run_list_for_user(user=user).filter(uuid=uuid).first()


def run_baseline(*, dataset: EvalDataset) -> EvalRun | None:
    return dataset.runs.filter(is_baseline=True).first()


def feedback_queue_for_user(*, user: Any) -> QuerySet[Feedback]:
    return (
        Feedback.objects.filter(
            status=Feedback.Status.NEW, answer__version__prototype__knowledge_base__engagement__in=_engagements(user)
        )
        .select_related("answer__version__prototype__knowledge_base__engagement", "author")
        .order_by("created_at")
    )


def feedback_get_for_user(*, user: Any, uuid: Any) -> Feedback | None:
    return (
        Feedback.objects.filter(
            uuid=uuid, answer__version__prototype__knowledge_base__engagement__in=_engagements(user)
        )
        .select_related("answer__version__prototype__knowledge_base__engagement")
        .first()
    )


def conversation_list_for_user(*, user: Any) -> QuerySet[Conversation]:
    """Conversations with the prototypes the user may see, with their turn counts, latest first."""
    return (
        Conversation.objects.filter(prototype__knowledge_base__engagement__in=_engagements(user))
        .select_related("prototype__knowledge_base__engagement", "started_by")
        .annotate(
            turn_count=Count("turns"),
            first_question=Subquery(
                Answer.objects.filter(conversation=OuterRef("pk")).order_by("created_at").values("question")[:1]
            ),
        )
        .order_by("-updated_at")
    )


def conversation_get_for_user(*, user: Any, uuid: Any) -> Conversation | None:
    return conversation_list_for_user(user=user).filter(uuid=uuid).first()
