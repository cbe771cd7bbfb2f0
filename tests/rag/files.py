"""Builders for the test documents; binaries are made here rather than committed."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage


def make_pdf(pages: list[str], *, password: str = "") -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    for text in pages:
        page = writer.add_blank_page(612, 792)
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
    if password:
        writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx(title: str, sections: dict[str, str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(title, level=1)
    for heading, body in sections.items():
        document.add_heading(heading, level=2)
        document.add_paragraph(body)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_xlsx(rows: list[list[object]], *, far_column: int = 0) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Carriers"
    for row in rows:
        sheet.append(row)
    if far_column:
        sheet.cell(row=1, column=far_column, value="")
        sheet.cell(row=2, column=far_column, value=" ")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def make_eml(subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"] = "claims@acme.test"
    message["To"] = "fde@provider.test"
    message["Subject"] = subject
    message["Date"] = "Tue, 03 Mar 2026 10:15:00 +0000"
    message.set_content(body)
    message.add_attachment(b"attached", maintype="application", subtype="octet-stream", filename="photo.bin")
    return bytes(message)


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def make_zip_bomb(megabytes: int = 50) -> bytes:
    buffer = io.BytesIO()
    block = b"\0" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("zeros.txt", "w", force_zip64=True) as handle,
    ):
        for _ in range(megabytes):
            handle.write(block)
    return buffer.getvalue()


def make_nested_zip(depth: int) -> bytes:
    data = make_zip({"deep.txt": b"the bottom of the archive"})
    for level in range(depth):
        data = make_zip({f"level{level}.zip": data})
    return data


POLICY_MD = """# Damage claims policy

Claims for damaged freight must be filed within 14 days of delivery.

## Evidence

Attach photographs of the damage and the signed delivery receipt.

## Refunds

Approved refunds are paid within 30 days to the original payment method.
"""
