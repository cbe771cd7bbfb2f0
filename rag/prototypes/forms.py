from __future__ import annotations

from typing import Any

from django import forms

from deployments.models import Deployment
from deployments.selectors import deployment_list_active
from rag.models import EmbeddingModel, EvalCase, EvalDataset, Feedback, KnowledgeBase, Prototype, PrototypeVersion


class Styled:
    """Bootstrap classes on every widget, so templates render fields without per-field markup."""

    fields: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style()

    def style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


VERSION_FIELDS = [
    "deployment",
    "embedding_model",
    "retrieval_mode",
    "top_k",
    "vector_weight",
    "keyword_weight",
    "rerank",
    "abstain_below",
    "temperature",
    "max_tokens",
    "system_prompt",
    "user_prompt",
]


class VersionForm(Styled, forms.ModelForm):
    class Meta:
        model = PrototypeVersion
        fields = [*VERSION_FIELDS, "note"]
        widgets = {
            "system_prompt": forms.Textarea(attrs={"rows": 4}),
            "user_prompt": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"user_prompt": "Variables: {question}, {context} (the numbered passages) and {kb_name}."}

    def __init__(self, *args: Any, knowledge_base: KnowledgeBase, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deployment"].queryset = deployment_list_active()  # type: ignore[attr-defined]
        self.fields["embedding_model"].queryset = EmbeddingModel.objects.filter(  # type: ignore[attr-defined]
            knowledge_bases=knowledge_base
        )

    def config(self) -> dict[str, Any]:
        return {f: self.cleaned_data[f] for f in VERSION_FIELDS}


class PrototypeCreateForm(Styled, forms.Form):
    knowledge_base = forms.ModelChoiceField(queryset=KnowledgeBase.objects.none())
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    deployment = forms.ModelChoiceField(queryset=deployment_list_active(), help_text="The model that answers.")

    def __init__(self, *args: Any, knowledge_bases: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["knowledge_base"].queryset = knowledge_bases  # type: ignore[attr-defined]
        self.fields["deployment"].queryset = deployment_list_active()  # type: ignore[attr-defined]


class CloneForm(Styled, forms.Form):
    name = forms.CharField(max_length=200, help_text="The variant's name, e.g. “Claims bot B: keyword only”.")


class AskForm(Styled, forms.Form):
    question = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Ask the prototype a question…"})
    )
    # The asker's conversation to continue; one that is not theirs (or none) starts a new conversation.
    conversation = forms.UUIDField(required=False, widget=forms.HiddenInput)


class FeedbackForm(Styled, forms.ModelForm):
    class Meta:
        model = Feedback
        fields = ["rating", "correction"]
        widgets = {"rating": forms.HiddenInput, "correction": forms.Textarea(attrs={"rows": 2})}


class DatasetForm(Styled, forms.ModelForm):
    class Meta:
        model = EvalDataset
        fields = ["knowledge_base", "name", "description", "regression_tolerance"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, knowledge_bases: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["knowledge_base"].queryset = knowledge_bases  # type: ignore[attr-defined]


class CaseForm(Styled, forms.ModelForm):
    relevant_documents_text = forms.CharField(
        label="Relevant documents",
        required=False,
        help_text="External ids of the documents that answer it, one per line.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    tags_text = forms.CharField(label="Tags", required=False, help_text="Comma-separated.")

    class Meta:
        model = EvalCase
        fields = ["external_id", "question", "reference_answer", "unanswerable", "requirement"]
        widgets = {"question": forms.Textarea(attrs={"rows": 2}), "reference_answer": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, requirements: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requirement"].queryset = requirements  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "external_id": data["external_id"],
            "question": data["question"],
            "reference_answer": data["reference_answer"],
            "unanswerable": data["unanswerable"],
            "requirement": data["requirement"],
            "relevant_documents": [
                line.strip() for line in data["relevant_documents_text"].splitlines() if line.strip()
            ],
            "tags": [t.strip() for t in data["tags_text"].split(",") if t.strip()],
        }


class ImportForm(Styled, forms.Form):
    file = forms.FileField(help_text="JSONL (one case per line) or CSV with the same column names.")


class RunForm(Styled, forms.Form):
    prototype = forms.ModelChoiceField(queryset=Prototype.objects.none(), help_text="Its latest version is run.")
    k = forms.IntegerField(min_value=1, max_value=50, initial=5, label="k for hit@k, recall@k, nDCG@k")
    use_judge = forms.BooleanField(required=False, initial=True, label="Score faithfulness and relevance (LLM judge)")
    judge = forms.ModelChoiceField(
        queryset=Deployment.objects.none(),
        required=False,
        empty_label="The prototype's own model",
        label="Judge",
        help_text="It is checked on planted errors first; a judge that fails marks its metrics unreliable.",
    )

    def __init__(self, *args: Any, prototypes: Any, judges: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["prototype"].queryset = prototypes  # type: ignore[attr-defined]
        if judges is not None:
            self.fields["judge"].queryset = judges  # type: ignore[attr-defined]


class DraftForm(Styled, forms.Form):
    prototype = forms.ModelChoiceField(queryset=Prototype.objects.none(), help_text="Its model drafts the cases.")
    count = forms.IntegerField(min_value=1, max_value=5, initial=3)

    def __init__(self, *args: Any, prototypes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["prototype"].queryset = prototypes  # type: ignore[attr-defined]
