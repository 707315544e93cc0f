"""Which driving-licence classes (准驾车型) may drive which vehicles of the network.

A higher class includes lower ones: A1 and A2 include B1, B2, C1, C2; B2 includes C1, C2;
C1 includes C2. A tractor-trailer (heavy swap truck) needs A2 itself.
"""

from __future__ import annotations

from apps.accounts.models import LicenceClass
from apps.assets.models import VehicleSegment

INCLUDED: dict[str, frozenset[str]] = {
    LicenceClass.A1: frozenset({"A1", "A3", "B1", "B2", "C1", "C2"}),
    LicenceClass.A2: frozenset({"A2", "B1", "B2", "C1", "C2"}),
    LicenceClass.A3: frozenset({"A3", "C1", "C2"}),
    LicenceClass.B1: frozenset({"B1", "C1", "C2"}),
    LicenceClass.B2: frozenset({"B2", "C1", "C2"}),
    LicenceClass.C1: frozenset({"C1", "C2"}),
    LicenceClass.C2: frozenset({"C2"}),
}
REQUIRED_FOR_SEGMENT: dict[str, str] = {
    VehicleSegment.HEAVY_TRUCK: LicenceClass.A2,
    VehicleSegment.CAR: LicenceClass.C2,
}


def licence_allows(licence_class: str, segment: str) -> bool:
    return REQUIRED_FOR_SEGMENT[segment] in INCLUDED.get(licence_class, frozenset())
