"""The scan page reads a photo of the bay's QR code on the server (phones without BarcodeDetector)."""

from __future__ import annotations

import io

import pytest
import segno
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from apps.ledger.models import Hold
from apps.swaps.models import OrderState, SwapOrder
from apps.swaps.tests.factories import SwapWorld, swap_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> SwapWorld:
    return swap_world()


def signed_in(world: SwapWorld) -> Client:
    client = Client()
    client.force_login(world.driver)
    return client


def qr_photo(text: str, *, kind: str = "jpeg") -> SimpleUploadedFile:
    """The code as a phone would photograph it: a JPEG, larger than the code, the code off-centre."""
    png = io.BytesIO()
    segno.make(text, error="m").save(png, kind="png", scale=10, border=2)
    png.seek(0)
    code = Image.open(png).convert("RGB")
    photo = Image.new("RGB", (code.width * 3, code.height * 2), (205, 200, 190))
    photo.paste(code, (code.width // 2, code.height // 3))
    data = io.BytesIO()
    photo.save(data, format=kind.upper(), quality=85)
    return SimpleUploadedFile(f"IMG_0001.{kind}", data.getvalue(), content_type=f"image/{kind}")


def test_a_photo_of_the_bay_s_qr_code_joins_the_queue(world: SwapWorld) -> None:
    response = signed_in(world).post("/driver/scan", {"photo": qr_photo(world.token()), "plate": world.vehicle.plate})
    order = SwapOrder.objects.get(driver=world.driver)
    assert (response.status_code, response["Location"]) == (302, f"/driver/orders/{order.pk}")
    assert (order.state, order.bay) == (OrderState.QUEUED, world.bay)


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("IMG_0002.jpg", b"not an image at all", content_type="image/jpeg"), "photo_unreadable"),
        ("blank", "qr_not_in_photo"),
        ("forged", "qr_invalid"),
    ],
)
def test_a_photo_without_a_usable_code_is_refused_and_nothing_changes(world: SwapWorld, upload, code: str) -> None:
    if upload == "blank":
        blank = io.BytesIO()
        Image.new("RGB", (640, 480), (120, 120, 120)).save(blank, format="JPEG")
        upload = SimpleUploadedFile("IMG_0003.jpg", blank.getvalue(), content_type="image/jpeg")
    elif upload == "forged":
        upload = qr_photo(world.token()[:-4] + "AAAA")
    holds = Hold.objects.count()
    response = signed_in(world).post("/driver/scan", {"photo": upload, "plate": world.vehicle.plate})
    assert response.status_code == 400
    assert f'data-error-code="{code}"' in response.content.decode()
    assert not SwapOrder.objects.exists()
    assert Hold.objects.count() == holds


def test_neither_a_code_nor_a_photo_asks_for_one(world: SwapWorld) -> None:
    response = signed_in(world).post("/driver/scan", {"code": "", "plate": world.vehicle.plate})
    assert response.status_code == 400
    assert "field-error" in response.content.decode()
    assert not SwapOrder.objects.exists()
