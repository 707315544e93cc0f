"""A photo of a bay's QR code, decoded on the server: the scan page's way for phones whose
browser has no BarcodeDetector. Pillow reads the image, zxing-cpp finds the code."""

from __future__ import annotations

from typing import IO

import zxingcpp
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from apps.common.errors import ApplicationError

# A phone photo is up to ~50 megapixels; anything larger is refused before it is decoded.
MAX_PIXELS = 60_000_000
# Codes are found faster and as well in a photo scaled down to this many pixels on its long side.
DECODE_SIDE = 1600


def qr_text_from_photo(photo: IO[bytes]) -> str:
    """The text of the QR code in the photo, or ``photo_unreadable`` / ``qr_not_in_photo`` (400)."""
    try:
        with Image.open(photo) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise _unreadable()
            image = opened.convert("L")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise _unreadable() from None
    image.thumbnail((DECODE_SIDE, DECODE_SIDE))
    for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)):
        if found.valid and found.text:
            return str(found.text)
    raise ApplicationError(
        "qr_not_in_photo",
        _("No QR code was found in the photo. Take it again, closer and sharper, or type the bay's code."),
        fields={"photo": [_("No QR code was found in the photo.")]},
    )


def _unreadable() -> ApplicationError:
    return ApplicationError(
        "photo_unreadable", _("The photo could not be read as an image."), fields={"photo": [_("Not an image we can read.")]}
    )
