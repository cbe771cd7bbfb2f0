from __future__ import annotations

from typing import Any

from django import forms

from engagements.models import Engagement
from rag.models import KnowledgeBase, TextSearchConfig
from rag.services.search import MODES


class BootstrapMixin:
    """Give every widget the Bootstrap class its kind needs, so templates can render fields as they are."""

    fields: dict[str, forms.Field]

    def _style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class KnowledgeBaseForm(BootstrapMixin, forms.Form):
    engagement = forms.ModelChoiceField(queryset=Engagement.objects.none())
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    text_search_config = forms.ChoiceField(
        label="Keyword search language",
        choices=TextSearchConfig.choices,
        initial=TextSearchConfig.SIMPLE,
        help_text="'Any language' matches whole words in every language; pick one language to add its stemming.",
    )
    chunk_size = forms.IntegerField(min_value=50, max_value=8000, initial=800, help_text="Characters per chunk.")
    chunk_overlap = forms.IntegerField(min_value=0, max_value=2000, initial=120)
    token_chunking = forms.BooleanField(
        required=False, label="Count tokens, not characters", help_text="Sizes in the embedding model's tokens."
    )

    def __init__(self, *args: Any, engagements: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["engagement"].queryset = engagements  # type: ignore[attr-defined]
        self._style()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if KnowledgeBase.objects.filter(engagement=data.get("engagement"), name=data.get("name")).exists():
            self.add_error("name", "This engagement already has a knowledge base with that name.")
        return data


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        kwargs.setdefault("allow_empty_file", True)  # an empty file becomes a failed document that says so
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple) and not data and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")  # nothing was sent
        return [single(d, initial) for d in data] if isinstance(data, list | tuple) else [single(data, initial)]


class UploadForm(forms.Form):
    documents = MultipleFileField(help_text="Many files at once, or .zip archives.")


class SqlSourceForm(BootstrapMixin, forms.Form):
    name = forms.CharField(max_length=200)
    connection_url = forms.CharField(
        label="Connection URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host/db. Stored encrypted.",
    )
    query = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="A SELECT returning one row per document."
    )
    key_column = forms.CharField(max_length=200, help_text="The column that identifies a row (its external id).")
    title_column = forms.CharField(max_length=200, required=False)
    row_template = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text="Django template syntax: {{ title }}\\n{{ body }}"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class SearchForm(BootstrapMixin, forms.Form):
    query = forms.CharField(max_length=2000)
    mode = forms.ChoiceField(choices=[(m, m.title()) for m in MODES], initial="hybrid")
    top_k = forms.IntegerField(min_value=1, max_value=50, initial=8, label="Top k")
    vector_weight = forms.FloatField(min_value=0, max_value=5, initial=0.75)
    keyword_weight = forms.FloatField(min_value=0, max_value=5, initial=0.25)
    embedding_model = forms.ChoiceField(choices=[], required=False)
    rerank = forms.BooleanField(required=False)
    source = forms.ChoiceField(choices=[], required=False, label="Source")
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")

    def __init__(self, *args: Any, knowledge_base: KnowledgeBase, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(m.key, m.label) for m in knowledge_base.embedding_models.all()]
        self.fields["embedding_model"].choices = choices  # type: ignore[attr-defined]
        sources = [("", "All sources")] + [(str(s.uuid), s.name) for s in knowledge_base.sources.all()]
        self.fields["source"].choices = sources  # type: ignore[attr-defined]
        self._style()


class ChunkEditForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=20000)


class EmbeddingEndpointForm(BootstrapMixin, forms.Form):
    label = forms.CharField(max_length=200, help_text="How the playground and prototypes name it.")
    base_url = forms.URLField(
        label="Base URL", assume_scheme="http", help_text="The OpenAI-compatible root, ending in /v1."
    )
    model_name = forms.CharField(max_length=300)
    dimensions = forms.IntegerField(min_value=2, max_value=16000, help_text="Length of the vectors it returns.")
    api_key = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="Stored encrypted."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()
