"""Scoring and explaining candidate stations: pure functions on plain data (no database).

The score of a station is a weighted sum of six features, each "higher is better":

    score = w_ready    * ready       ready    = r / (r + 2), r = swaps possible with batteries ready now
          + w_arriving * arriving    arriving = a / (a + 2), a = further swaps from batteries that
                                                finish charging before the vehicle arrives
          + w_distance * distance    distance = -road_km / 100
          + w_detour   * detour      detour   = -road_km * (1 - ahead) / 100, ahead in [-1, 1]
                                                (0 without a heading or route: every km is a detour)
          + w_price    * price       price    = -(estimate - cheapest estimate among the candidates)
                                                in units of 100 yuan; an unknown price counts as the
                                                dearest known one
          + w_wait     * wait        wait     = -expected wait on arrival / 60 min

So with the default weights one unit of score is worth about 100 yuan: a 100 km detour costs 2
(energy and time; a station 50 km behind costs as much as a 100 km detour, ahead on the way costs
only the 0.5 per 100 km of ``distance``), an hour's wait 1.5, ready batteries are worth up to 1.
The two battery features saturate, and rise strictly with every battery.

Ranking: stations that can serve the vehicle on arrival (open then, online now, at least one
swap's worth of compatible batteries ready or finishing in time) first, by score; the others
after them, by score, marked with their reasons. Ties fall to the shorter road distance, then the
station code, so a ranking never depends on the order candidates came in. Unreachable stations
never get here: the selector leaves them out.

Learned weights (``apps.recommend.training``) have the same six entries and replace the defaults
when a trained model beats them on held-out choices; everything else here stays the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

FEATURES: tuple[str, ...] = ("ready", "arriving", "distance", "detour", "price", "wait")
FEN_PER_SCORE_UNIT = 10_000  # 100 yuan
KM_PER_SCORE_UNIT = 100.0
MINUTES_PER_SCORE_UNIT = 60.0
# Above this |ahead| a station is called "ahead" or "behind" in the explanation.
AHEAD_WORDING_THRESHOLD = 0.5


@dataclass(frozen=True)
class Weights:
    """The documented weights of the score above (the defaults), or learned ones."""

    ready: float = 1.0
    arriving: float = 0.5
    distance: float = 0.5
    detour: float = 1.5
    price: float = 1.0
    wait: float = 1.5

    def vector(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, name)) for name in FEATURES)

    @classmethod
    def of(cls, values: Sequence[float]) -> Weights:
        if len(values) != len(FEATURES):
            raise ValueError(f"expected {len(FEATURES)} weights, got {len(values)}")
        return cls(**{name: float(value) for name, value in zip(FEATURES, values, strict=True)})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULT_WEIGHTS = Weights()
assert tuple(field.name for field in fields(Weights)) == FEATURES


@dataclass(frozen=True)
class CandidateFacts:
    """What the selector found out about one reachable station, for one vehicle, now."""

    station_id: int
    code: str
    name: str
    distance_km: float  # geodesic
    road_km: float  # estimate: geodesic x detour factor
    eta_minutes: float
    ahead: float | None  # [-1, 1] with a heading or route, else None
    batteries_ready: int  # compatible, charged above the threshold, not reserved
    batteries_by_arrival: int  # compatible, still charging, finished before the vehicle arrives
    packs_per_swap: int
    price_fen: int | None  # the billing quote for this vehicle; None when it cannot be priced
    queue: int  # active orders plus vehicles recommended here and heading in
    wait_minutes: float  # expected wait on arrival
    open_on_arrival: bool
    online: bool

    @property
    def swaps_ready(self) -> int:
        return self.batteries_ready // self.packs_per_swap

    @property
    def swaps_by_arrival(self) -> int:
        """Further swaps possible once the charging batteries are done."""
        return (self.batteries_ready + self.batteries_by_arrival) // self.packs_per_swap - self.swaps_ready

    @property
    def battery_on_arrival(self) -> bool:
        return self.swaps_ready + self.swaps_by_arrival > 0

    def unavailable_reasons(self) -> list[str]:
        reasons = []
        if not self.battery_on_arrival:
            reasons.append("no_battery_on_arrival")
        if not self.open_on_arrival:
            reasons.append("closed_on_arrival")
        if not self.online:
            reasons.append("offline")
        return reasons

    @property
    def serviceable(self) -> bool:
        return not self.unavailable_reasons()


def _saturating(count: int) -> float:
    return count / (count + 2)


def feature_vector(facts: CandidateFacts, *, cheapest_fen: int | None, dearest_fen: int | None) -> tuple[float, ...]:
    """The six features of one candidate, in ``FEATURES`` order (prices relative to the set)."""
    ahead = 0.0 if facts.ahead is None else facts.ahead
    price_fen = facts.price_fen if facts.price_fen is not None else dearest_fen
    price = 0.0 if price_fen is None or cheapest_fen is None else -(price_fen - cheapest_fen) / FEN_PER_SCORE_UNIT
    return (
        _saturating(facts.swaps_ready),
        _saturating(facts.swaps_by_arrival),
        -facts.road_km / KM_PER_SCORE_UNIT,
        -facts.road_km * (1.0 - ahead) / KM_PER_SCORE_UNIT,
        price,
        -facts.wait_minutes / MINUTES_PER_SCORE_UNIT,
    )


def score(features: Sequence[float], weights: Weights) -> float:
    return sum(weight * value for weight, value in zip(weights.vector(), features, strict=True))


@dataclass(frozen=True)
class Scored:
    facts: CandidateFacts
    features: tuple[float, ...]
    contributions: dict[str, float]  # weight x feature, by feature name
    score: float

    @property
    def serviceable(self) -> bool:
        return self.facts.serviceable


def rank(candidates: Sequence[CandidateFacts], weights: Weights = DEFAULT_WEIGHTS) -> list[Scored]:
    """The candidates scored and ordered best first (see the module's docstring)."""
    prices = [facts.price_fen for facts in candidates if facts.price_fen is not None]
    cheapest, dearest = (min(prices), max(prices)) if prices else (None, None)
    scored = []
    for facts in candidates:
        features = feature_vector(facts, cheapest_fen=cheapest, dearest_fen=dearest)
        contributions = {name: weight * value for name, weight, value in zip(FEATURES, weights.vector(), features, strict=True)}
        scored.append(Scored(facts, features, contributions, sum(contributions.values())))
    return sorted(scored, key=lambda item: (not item.serviceable, -item.score, item.facts.road_km, item.facts.code))


@dataclass(frozen=True)
class LoggedCandidate:
    """A candidate as the log keeps it: enough to rank it again with other weights."""

    key: int  # the station id
    features: tuple[float, ...]
    serviceable: bool
    road_km: float
    code: str


def rank_logged(candidates: Sequence[LoggedCandidate], weights: Weights) -> list[int]:
    """The stations' ids best first, by the same rule as ``rank``."""
    return [
        item.key
        for item in sorted(
            candidates, key=lambda item: (not item.serviceable, -score(item.features, weights), item.road_km, item.code)
        )
    ]


def logged(candidate: Mapping[str, object]) -> LoggedCandidate:
    """A ``LoggedCandidate`` from one entry of ``RecommendationLog.candidates``."""
    features = candidate["features"]
    assert isinstance(features, Mapping)
    return LoggedCandidate(
        key=int(str(candidate["station_id"])),
        features=tuple(float(features[name]) for name in FEATURES),
        serviceable=bool(candidate["serviceable"]),
        road_km=float(str(candidate["road_km"])),
        code=str(candidate["station"]),
    )


# --- Explanations -------------------------------------------------------------------------
def format_yuan(amount_fen: int) -> str:
    """¥412.37 from 41237 fen (exact: no rounding)."""
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), 100)
    return f"{sign}¥{yuan}.{fen:02d}"


def explanation(facts: CandidateFacts) -> str:
    """One line for people, e.g. "3 batteries ready · 12 km · ¥412.37 est. · ~4 min wait",
    in the active language (Chinese by default)."""
    parts: list[str] = []
    if facts.batteries_ready:
        parts.append(
            ngettext("%(count)d battery ready", "%(count)d batteries ready", facts.batteries_ready)
            % {"count": facts.batteries_ready}
        )
    if facts.batteries_by_arrival:
        parts.append(
            ngettext("%(count)d more charged by arrival", "%(count)d more charged by arrival", facts.batteries_by_arrival)
            % {"count": facts.batteries_by_arrival}
        )
    if not facts.battery_on_arrival:
        parts.append(_("no compatible battery on arrival"))
    km = round(facts.road_km)
    if facts.ahead is not None and facts.ahead >= AHEAD_WORDING_THRESHOLD:
        parts.append(_("%(km)d km ahead") % {"km": km})
    elif facts.ahead is not None and facts.ahead <= -AHEAD_WORDING_THRESHOLD:
        parts.append(_("%(km)d km behind") % {"km": km})
    else:
        parts.append(_("%(km)d km") % {"km": km})
    if facts.price_fen is None:
        parts.append(_("price unknown"))
    else:
        parts.append(_("%(price)s est.") % {"price": format_yuan(facts.price_fen)})
    wait = round(facts.wait_minutes)
    parts.append(_("~%(minutes)d min wait") % {"minutes": wait} if wait > 0 else _("no wait"))
    if not facts.open_on_arrival:
        parts.append(_("closed on arrival"))
    if not facts.online:
        parts.append(_("offline"))
    return " · ".join(parts)
