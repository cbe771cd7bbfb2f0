"""The shape of each logged prompt's beginning, for prefix-cache advice.

Kept beside the call log rather than in it: the latency dashboards scan ``ModelCall`` by the million and should not
carry these bytes, while the advice reads a recent window of this table only.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from deployments.models.endpoints import Deployment, ModelCall


class PromptPrefix(models.Model):
    """Hashes of a call's leading prompt tokens at fixed lengths, and where its longest repeated-looking block sits.

    ``hashes[i]`` is the hash of the first ``deployments.prompt_shape.LADDER[i]`` tokens; the array stops at the
    prompt's length. Two calls with equal ``hashes[i]`` share those tokens, which a prefix-caching server reuses.
    """

    call = models.OneToOneField(ModelCall, on_delete=models.CASCADE, primary_key=True, related_name="prompt_prefix")
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)
    tokens = models.PositiveIntegerField(help_text="The prompt's length in the gateway's own token count.")
    hashes = ArrayField(models.BigIntegerField(), default=list)
    block_hash = models.BigIntegerField(null=True, blank=True, help_text="Hash of the prompt's longest sentence.")
    block_start = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens before that sentence.")
    block_tokens = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["deployment", "created_at"], name="promptprefix_deployment_time")]

    def __str__(self) -> str:
        return f"prefix of call {self.call_id}"
