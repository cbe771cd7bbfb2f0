from __future__ import annotations

import json

import pytest

from rag import archives
from rag.chunking import chunk_segments, full_text
from rag.parsers import ParseError, parse
from tests.rag import files


def test_pdf_keeps_page_numbers() -> None:
    parsed = parse(name="terms.pdf", data=files.make_pdf(["Carrier liability is limited.", "Claims need photos."]))
    assert [s.page for s in parsed.segments] == [1, 2]
    assert "photos" in parsed.segments[1].text
    assert parsed.page_count == 2


def test_encrypted_pdf_is_refused_with_a_reason() -> None:
    with pytest.raises(ParseError, match="password-protected"):
        parse(name="secret.pdf", data=files.make_pdf(["hidden"], password="s3cret"))


def test_corrupt_pdf_is_refused_with_a_reason() -> None:
    data = files.make_pdf(["Some text"])
    with pytest.raises(ParseError, match="damaged"):
        parse(name="broken.pdf", data=data[:200])


def test_docx_headings_become_markdown_sections() -> None:
    parsed = parse(name="policy.docx", data=files.make_docx("Returns", {"Window": "Return within 30 days."}))
    assert parsed.segments[0].markdown
    assert "## Window" in parsed.segments[0].text


def test_html_drops_script_and_keeps_headings() -> None:
    html = b"<html><head><title>Rates</title><script>var x=1;</script></head><body><h1>Rates</h1>"
    html += b"<p>Standard freight costs 4 EUR per kg.</p><script>track()</script></body></html>"
    parsed = parse(name="rates.html", data=html)
    assert parsed.title == "Rates"
    assert "# Rates" in parsed.segments[0].text
    assert "track" not in parsed.segments[0].text


def test_script_only_html_is_refused() -> None:
    html = b"<html><body><div id=app></div>" + b"<script>render()</script>" * 50 + b"</body></html>"
    with pytest.raises(ParseError, match="no readable text"):
        parse(name="app.html", data=html)


def test_csv_rows_become_records() -> None:
    parsed = parse(name="carriers.csv", data=b"carrier,region,sla\nDHL,EU,48h\nUPS,,72h\n")
    assert parsed.segments[0].text.splitlines() == ["carrier: DHL; region: EU; sla: 48h", "carrier: UPS; sla: 72h"]


def test_csv_with_a_million_empty_columns_is_refused() -> None:
    data = b"a,b" + b"," * 1_000_000 + b"\n1,2\n"
    with pytest.raises(ParseError, match="1,000,002 columns"):
        parse(name="wide.csv", data=data)


def test_xlsx_rows_become_records_with_the_sheet_as_heading() -> None:
    parsed = parse(name="carriers.xlsx", data=files.make_xlsx([["carrier", "sla"], ["DHL", "48h"]]))
    assert parsed.segments[0].heading == "Carriers"
    assert parsed.segments[0].text == "carrier: DHL; sla: 48h"


def test_xlsx_with_the_widest_possible_empty_range_is_refused() -> None:
    with pytest.raises(ParseError, match="16,384 columns"):
        parse(name="wide.xlsx", data=files.make_xlsx([["a", "b"], [1, 2]], far_column=16384))


def test_json_and_jsonl_become_records() -> None:
    data = json.dumps([{"id": 1, "policy": {"name": "Damage", "days": 14}}]).encode()
    assert parse(name="p.json", data=data).segments[0].text == "id: 1; policy.name: Damage; policy.days: 14"
    lines = b'{"q": "How long?", "a": "14 days"}\n\n{"q": "Photos?", "a": "yes"}\n'
    assert parse(name="faq.jsonl", data=lines).segments[0].text.count("\n") == 1


def test_bad_jsonl_line_is_named() -> None:
    with pytest.raises(ParseError, match="Line 2"):
        parse(name="faq.jsonl", data=b'{"a": 1}\n{broken\n')


def test_eml_keeps_subject_date_and_attachment_names() -> None:
    parsed = parse(name="claim.eml", data=files.make_eml("Claim 4411: crushed pallet", "The pallet arrived crushed."))
    assert parsed.title == "Claim 4411: crushed pallet"
    assert parsed.document_date is not None and parsed.document_date.year == 2026
    assert parsed.metadata["attachments"] == ["photo.bin"]
    assert "arrived crushed" in parsed.segments[0].text


def test_empty_file_is_refused() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse(name="empty.txt", data=b"")


def test_mislabelled_file_is_refused() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    with pytest.raises(ParseError, match=r"named \.pdf but holds image/png"):
        parse(name="scan.pdf", data=png)
    with pytest.raises(ParseError, match=r"named \.txt but holds application/pdf"):
        parse(name="notes.txt", data=files.make_pdf(["x"]))


def test_unsupported_type_is_refused() -> None:
    with pytest.raises(ParseError, match="not supported"):
        parse(name="tool.exe", data=b"MZ\x90\x00 some binary")


def test_text_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(ParseError, match="not UTF-8"):
        parse(name="latin.txt", data="Résumé".encode("latin-1"))


def test_file_over_the_size_limit_is_refused(settings: object) -> None:
    settings.RAG_MAX_FILE_BYTES = 1000  # type: ignore[attr-defined]
    with pytest.raises(ParseError, match="over the"):
        parse(name="big.txt", data=b"a" * 2000)


def test_zip_bomb_is_refused_before_expanding() -> None:
    entries = archives.expand("bomb.zip", files.make_zip_bomb())
    assert len(entries) == 1 and "zip bomb" in entries[0].error


def test_deeply_nested_archive_is_refused_but_shallow_files_are_kept() -> None:
    data = files.make_zip({"a.md": b"# A", "inner.zip": files.make_nested_zip(3)})
    entries = archives.expand("upload.zip", data)
    assert [e.name for e in entries if not e.error] == ["upload.zip/a.md"]
    assert any("nested more than" in e.error for e in entries)


def test_markdown_chunks_keep_heading_path_and_offsets() -> None:
    parsed = parse(name="policy.md", data=files.POLICY_MD.encode())
    drafts = chunk_segments(parsed.segments, chunk_size=120, chunk_overlap=20)
    text = full_text(parsed.segments)
    assert {d.heading_path for d in drafts} >= {"Damage claims policy › Evidence", "Damage claims policy › Refunds"}
    for draft in drafts:
        assert text[draft.char_start : draft.char_end].strip() == draft.text


def test_token_chunking_respects_the_token_budget() -> None:
    from rag.chunking import _tokenizer

    parsed = parse(name="long.txt", data=(" ".join(f"word{i}" for i in range(600))).encode())
    drafts = chunk_segments(parsed.segments, chunk_size=64, chunk_overlap=8, token_based=True)
    assert len(drafts) > 3
    assert max(len(_tokenizer().encode(d.text, add_special_tokens=False)) for d in drafts) <= 64


def test_text_files_without_a_known_extension_are_read_by_their_content() -> None:
    licence = b"GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n\nEveryone is permitted to copy it."
    parsed = parse(name="licences/GPL-3", data=licence)
    assert parsed.mime_type == "text/plain" and "Version 3" in parsed.segments[0].text
    assert parse(name="Apache-2.0", data="Licence für alle — Apache.".encode()).mime_type == "text/plain"
    assert parse(name="export.data", data=b'[{"id": 1, "name": "pallet"}]').mime_type == "application/json"
    assert parse(name="page", data=b"<!DOCTYPE html><html><body><p>Hello</p></body></html>").mime_type == "text/html"


def test_binary_content_without_a_known_extension_is_refused_by_its_content() -> None:
    with pytest.raises(ParseError, match="not supported"):
        parse(name="blob", data=bytes(range(256)) * 8)
    with pytest.raises(ParseError, match="not supported"):
        parse(name="photo", data=b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
