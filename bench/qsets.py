"""Public question sets for retrieval and abstention, built from FAQs that install here.

Each FAQ entry becomes one document holding the answer only (the question heading is removed, so a question never
matches its own wording in the corpus), and its question becomes an eval case whose relevant document is that
answer. A fixed quarter of the entries (chosen by a hash of the question, so every run picks the same ones) are left
out of the corpus: their questions are about the product but the documents do not answer them, which is how a real
unanswerable question looks.

Sets (downloaded once into ``var/bench-data`` with the ordinary clients, then reused):

- ``debian``: the Debian GNU/Linux FAQ (Debian package ``debian-faq``, HTML).
- ``pylibs``: the FAQs of Django, Celery and SQLAlchemy (their source distributions on PyPI, reStructuredText).
- ``python-faq``: the Python manual's FAQ (Debian package ``python3.11-doc``). Held out: never used to choose a
  default or tune a parameter, only reported as a check.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "var" / "bench-data"
PYPI_SDISTS = {"django": "Django==5.2.19", "celery": "celery==5.7.0", "sqlalchemy": "SQLAlchemy==2.1.9"}
HELD_OUT_SETS = {"python-faq"}
UNANSWERABLE_SHARE = 0.25
_QUESTION_START = re.compile(
    r"^(how|why|what|when|where|which|who|whom|is|are|can|could|do|does|did|should|will|would|may|i'm|i am|i get|"
    r"i'm getting|i want|my|there)\b",
    re.I,
)


@dataclass
class Entry:
    key: str  # the document's external id
    question: str
    answer: str


@dataclass
class QuestionSet:
    name: str
    entries: list[Entry]
    held_out: bool = False
    documents: dict[str, str] = field(default_factory=dict)  # external id -> text of the indexed corpus
    answerable: list[Entry] = field(default_factory=list)
    unanswerable: list[Entry] = field(default_factory=list)


def _is_question(title: str) -> bool:
    title = title.strip()
    return title.endswith("?") or bool(_QUESTION_START.match(title))


def _left_out(question: str) -> bool:
    digest = hashlib.sha256(question.strip().lower().encode()).digest()
    return digest[0] < 256 * UNANSWERABLE_SHARE


# --- fetching ------------------------------------------------------------------------------------------------


def _apt_download(package: str) -> Path:
    target = DATA / "deb" / package
    if target.exists():
        return target
    (DATA / "deb").mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", package], cwd=DATA / "deb", check=True, capture_output=True)
    debs = sorted((DATA / "deb").glob(f"{package}_*.deb"))
    if not debs:
        sys.exit(f"apt-get download {package} gave no .deb; run apt-get update first")
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(target)], check=True)
    return target


def _sdist(requirement: str) -> tarfile.TarFile:
    folder = DATA / "sdist"
    name = requirement.split("==")[0].lower()
    found = [p for p in folder.glob("*.tar.gz") if p.name.lower().startswith(name + "-")] if folder.exists() else []
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "-d",
             str(folder), requirement],
            check=True,
        )  # fmt: skip
        found = [p for p in folder.glob("*.tar.gz") if p.name.lower().startswith(name + "-")]
    return tarfile.open(found[0])


# --- parsing -------------------------------------------------------------------------------------------------

_RST_UNDERLINE = re.compile(r"^([=\-~^*+#`'\".:_])\1{2,}\s*$")
_RST_ROLE = re.compile(r":[a-zA-Z:]+:`([^`<]*?)(?:\s*<[^>]*>)?`")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]*>`__?")


def _clean_rst(text: str) -> str:
    text = _RST_ROLE.sub(r"\1", text)
    text = _RST_LINK.sub(r"\1", text)
    text = text.replace("``", "")
    lines = [ln for ln in text.splitlines() if not re.match(r"^\.\. (_[^:]+:|index::|versionadded|seealso::$)", ln)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def rst_sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) for every section of a reStructuredText document, bodies without sub-section headings."""
    lines = text.splitlines()
    heads: list[int] = []
    for i in range(1, len(lines)):
        title = lines[i - 1].strip()
        underlined = _RST_UNDERLINE.match(lines[i]) and len(lines[i].strip()) >= len(title) - 1
        if title and underlined and not _RST_UNDERLINE.match(lines[i - 1]):
            heads.append(i - 1)
    sections = []
    for n, start in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(lines)
        body = lines[start + 2 : end]
        if body and _RST_UNDERLINE.match(body[-1].strip() or "x"):
            body = body[:-1]
        sections.append((lines[start].strip(), _clean_rst("\n".join(body))))
    return sections


def _faq_entries(prefix: str, files: list[tuple[str, str]]) -> list[Entry]:
    entries = []
    for name, text in files:
        for n, (title, body) in enumerate(rst_sections(text)):
            if _is_question(title) and len(body) > 40:
                entries.append(Entry(key=f"{prefix}/{name}#{n}", question=_clean_rst(title), answer=body))
    return entries


def _pylibs() -> list[Entry]:
    entries: list[Entry] = []
    for prefix, requirement in PYPI_SDISTS.items():
        with _sdist(requirement) as tar:
            files = []
            for member in tar.getmembers():
                path = member.name.split("/", 1)[-1]
                is_faq = re.match(r"docs?/(build/)?faq(/[a-z_]+)?\.(rst|txt)$", path) and "index" not in path
                if member.isfile() and is_faq:
                    handle = tar.extractfile(member)
                    assert handle is not None
                    files.append((Path(path).stem, handle.read().decode("utf-8")))
        entries += _faq_entries(prefix, sorted(files))
    return entries


def _python_faq() -> list[Entry]:
    root = _apt_download("python3.11-doc")
    files = []
    for path in sorted(glob.glob(str(root / "usr/share/doc/python3.11/html/_sources/faq/*.rst.txt"))):
        name = Path(path).name.removesuffix(".rst.txt")
        if name != "index":
            files.append((name, Path(path).read_text("utf-8")))
    return _faq_entries("python-faq", files)


def _debian() -> list[Entry]:
    from bs4 import BeautifulSoup

    root = _apt_download("debian-faq")
    entries = []
    for path in sorted(glob.glob(str(root / "usr/share/doc/debian/FAQ/*.en.html"))):
        name = Path(path).name.removesuffix(".en.html")
        if name in {"index", "faqinfo"}:
            continue
        soup = BeautifulSoup(Path(path).read_bytes(), "html.parser")
        for n, head in enumerate(soup.find_all(["h2", "h3", "h4"])):
            title = re.sub(r"^[\d.]+\s*", "", " ".join(head.get_text(" ", strip=True).split()))
            parts = []
            for sibling in head.find_all_next():
                if sibling.name in {"h1", "h2", "h3", "h4"}:
                    break
                if sibling.name in {"p", "pre", "li", "dt", "dd", "td"} and not sibling.find(["p", "pre", "li"]):
                    parts.append(sibling.get_text(" ", strip=True))
            body = "\n\n".join(p for p in parts if p)
            if _is_question(title) and len(body) > 40:
                entries.append(Entry(key=f"debian/{name}#{n}", question=title, answer=body))
    return entries


BUILDERS = {"debian": _debian, "pylibs": _pylibs, "python-faq": _python_faq}


def load(name: str) -> QuestionSet:
    entries = BUILDERS[name]()
    qset = QuestionSet(name=name, entries=entries, held_out=name in HELD_OUT_SETS)
    seen: set[str] = set()
    for entry in entries:
        if entry.question.lower() in seen:
            continue
        seen.add(entry.question.lower())
        if _left_out(entry.question):
            qset.unanswerable.append(entry)
        else:
            qset.answerable.append(entry)
            qset.documents[entry.key] = entry.answer
    return qset


def as_files(qset: QuestionSet) -> list[tuple[str, bytes]]:
    """The indexed corpus as Markdown files named by each document's external id."""
    return [(key, text.encode()) for key, text in qset.documents.items()]


def _main() -> None:
    for name in BUILDERS:
        qset = load(name)
        size = sum(len(t) for t in qset.documents.values())
        print(f"{name}: {len(qset.answerable)} answerable, {len(qset.unanswerable)} unanswerable, {size} chars")
        for entry in qset.answerable[:3] + qset.unanswerable[:2]:
            print("   ", entry.key, "|", entry.question, "|", entry.answer[:80].replace("\n", " "))


if __name__ == "__main__":
    _main()

__all__ = ["QuestionSet", "as_files", "gzip", "io", "load"]
