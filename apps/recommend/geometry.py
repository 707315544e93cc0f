"""Corridor geometry: which way a station lies from the vehicle, given a heading or a route.

Pure functions on floats (degrees and kilometres; geometry is the one place floats are used).
``ahead`` is a number in [-1, 1]: 1 straight ahead, 0 to the side, -1 straight behind.

- With a heading (degrees clockwise from north), it is the cosine of the angle between the
  heading and the initial bearing to the station.
- With a route (a polyline of points), the vehicle and the station are projected onto the route
  in a local flat approximation (ample at a few hundred kilometres; the first and last legs are
  extended beyond the route's ends); with ``along`` the distance
  along the route from the vehicle's projection to the station's and ``off`` the station's distance
  from the route, ``ahead = along / hypot(along, off)``: a station on the route ahead is 1, one
  on the route behind is -1, one far off to the side is near 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from geographiclib.geodesic import Geodesic

EARTH_RADIUS_KM = 6371.0088

Point = tuple[float, float]  # (latitude, longitude) in degrees


def initial_bearing(origin: Point, target: Point) -> float:
    """Bearing from ``origin`` to ``target``, degrees clockwise from north in [0, 360)."""
    lat1, lat2 = math.radians(origin[0]), math.radians(target[0])
    delta_lon = math.radians(target[1] - origin[1])
    x = math.sin(delta_lon) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(delta_lon)
    return math.degrees(math.atan2(x, y)) % 360.0


def heading_alignment(*, heading_deg: float, origin: Point, target: Point) -> float:
    if origin == target:
        return 1.0
    return math.cos(math.radians(initial_bearing(origin, target) - heading_deg))


def _flat(point: Point, origin: Point) -> tuple[float, float]:
    """Kilometres east and north of ``origin`` (equirectangular)."""
    x = math.radians(point[1] - origin[1]) * math.cos(math.radians(origin[0])) * EARTH_RADIUS_KM
    y = math.radians(point[0] - origin[0]) * EARTH_RADIUS_KM
    return x, y


def project_onto_route(route: Sequence[Point], point: Point, *, origin: Point) -> tuple[float, float]:
    """(distance along the route to the point's projection, distance of the point from the route), km."""
    px, py = _flat(point, origin)
    vertices = [_flat(vertex, origin) for vertex in route]
    best_along, best_off = 0.0, math.inf
    walked = 0.0
    last = len(vertices) - 2
    for number, ((ax, ay), (bx, by)) in enumerate(pairwise(vertices)):
        dx, dy = bx - ax, by - ay
        length_sq = dx * dx + dy * dy
        # The first and last legs extend beyond the route's ends: behind its start is behind.
        low, high = (-math.inf if number == 0 else 0.0), (math.inf if number == last else 1.0)
        t = 0.0 if length_sq == 0 else max(low, min(high, ((px - ax) * dx + (py - ay) * dy) / length_sq))
        off = math.hypot(px - (ax + t * dx), py - (ay + t * dy))
        length = math.sqrt(length_sq)
        if off < best_off:
            best_along, best_off = walked + t * length, off
        walked += length
    return best_along, best_off


def route_alignment(*, route: Sequence[Point], origin: Point, target: Point) -> float:
    if len(route) < 2:
        return heading_alignment(heading_deg=initial_bearing(origin, route[0]), origin=origin, target=target) if route else 0.0
    vehicle_along, _ = project_onto_route(route, origin, origin=origin)
    station_along, off = project_onto_route(route, target, origin=origin)
    along = station_along - vehicle_along
    if along == 0 and off == 0:
        return 1.0
    return along / math.hypot(along, off)


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance on a sphere of the mean Earth radius (cheap; not for display)."""
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    dlat, dlon = lat2 - lat1, math.radians(b[1] - a[1])
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def geodesic_km(a: Point, b: Point) -> float:
    """Distance on the WGS84 ellipsoid: what ``geopy.distance.geodesic(a, b).km`` computes (geopy
    asks geographiclib), without geopy building a new ellipsoid for every pair."""
    return float(Geodesic.WGS84.Inverse(a[0], a[1], b[0], b[1], Geodesic.DISTANCE)["s12"]) / 1000
