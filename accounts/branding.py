"""A client's logo: checked to be a real raster image and re-encoded as a small PNG before it is kept.

Re-encoding drops anything a crafted file might carry beside its pixels (metadata, scripts in a polyglot), and SVG is
refused outright because a browser runs the script inside it.
"""

from __future__ import annotations

import io

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

MAX_LOGO_BYTES = 1024 * 1024
MAX_LOGO_PIXELS = 4000 * 4000
LOGO_BOX = (480, 160)
FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}


def logo_png(upload: UploadedFile) -> ContentFile[bytes]:
    """The upload as a PNG that fits ``LOGO_BOX``, or a ``ValidationError`` that says what was wrong with it."""
    if upload.size and upload.size > MAX_LOGO_BYTES:
        raise ValidationError(
            f"The logo is {upload.size // 1024} KB; upload an image of at most {MAX_LOGO_BYTES // 1024} KB."
        )
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if probe.width * probe.height > MAX_LOGO_PIXELS:
                raise ValidationError("The logo has too many pixels; upload an image under 4000 × 4000.")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationError("That file is not an image we can read; upload a PNG, JPEG, GIF or WebP logo.") from exc
    if kind not in FORMATS:
        raise ValidationError(f"{kind} logos are not accepted; upload a PNG, JPEG, GIF or WebP logo.")
    picture.thumbnail(LOGO_BOX)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name="logo.png")
