"""The score, the ranking rule and the explanation: pure functions, no database."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.utils import translation

from apps.recommend import scoring
from apps.recommend.scoring import CandidateFacts, Weights

PRICE = 41237
BASE = CandidateFacts(
    station_id=1,
    code="SWN-A",
    name="A",
    distance_km=10.0,
    road_km=12.0,
    eta_minutes=12.0,
    ahead=None,
    batteries_ready=3,
    batteries_by_arrival=0,
    packs_per_swap=1,
    price_fen=PRICE,
    queue=1,
    wait_minutes=4.0,
    open_on_arrival=True,
    online=True,
)


def other(**changes: object) -> CandidateFacts:
    return replace(BASE, station_id=2, code="SWN-B", name="B", **changes)


def codes(ranked: list[scoring.Scored]) -> list[str]:
    return [item.facts.code for item in ranked]


@pytest.mark.parametrize(("fewer", "more"), [(0, 1), (1, 2), (2, 3), (3, 8), (8, 20)])
def test_more_ready_batteries_rank_higher_when_all_else_is_equal(fewer: int, more: int) -> None:
    # B sorts after A on every tie-breaker, so only the batteries can put it first.
    ranked = scoring.rank(
        [replace(BASE, batteries_ready=fewer, batteries_by_arrival=1), other(batteries_ready=more, batteries_by_arrival=1)]
    )
    assert codes(ranked) == ["SWN-B", "SWN-A"]


@pytest.mark.parametrize("cheaper_by_fen", [1, 100, 10_000])
def test_a_cheaper_price_ranks_higher_when_all_else_is_equal(cheaper_by_fen: int) -> None:
    ranked = scoring.rank([BASE, other(price_fen=PRICE - cheaper_by_fen)])
    assert codes(ranked) == ["SWN-B", "SWN-A"]


def test_nearer_and_shorter_wait_rank_higher_when_all_else_is_equal() -> None:
    assert codes(scoring.rank([BASE, other(road_km=11.0, distance_km=9.0)])) == ["SWN-B", "SWN-A"]
    assert codes(scoring.rank([BASE, other(wait_minutes=3.0)])) == ["SWN-B", "SWN-A"]


def test_a_station_ahead_beats_an_equally_far_one_behind() -> None:
    ranked = scoring.rank([replace(BASE, ahead=-0.9), other(ahead=0.9)])
    assert codes(ranked) == ["SWN-B", "SWN-A"]


def test_stations_without_a_battery_on_arrival_rank_last_and_say_why() -> None:
    # The station with no battery is nearer, cheaper and has no queue: it still comes last.
    empty = other(batteries_ready=0, batteries_by_arrival=0, road_km=1.0, price_fen=100, wait_minutes=0.0)
    ranked = scoring.rank([empty, BASE])
    assert codes(ranked) == ["SWN-A", "SWN-B"]
    assert ranked[1].facts.unavailable_reasons() == ["no_battery_on_arrival"]
    assert not ranked[1].serviceable


def test_closed_and_offline_stations_rank_last_with_their_reasons() -> None:
    ranked = scoring.rank([other(open_on_arrival=False, online=False, road_km=1.0), BASE])
    assert codes(ranked) == ["SWN-A", "SWN-B"]
    assert ranked[1].facts.unavailable_reasons() == ["closed_on_arrival", "offline"]


def test_a_multi_pack_vehicle_needs_a_full_set_of_batteries() -> None:
    facts = replace(BASE, packs_per_swap=3, batteries_ready=2, batteries_by_arrival=0)
    assert facts.swaps_ready == 0
    assert not facts.battery_on_arrival
    assert replace(facts, batteries_by_arrival=1).swaps_by_arrival == 1


def test_score_is_the_documented_weighted_sum() -> None:
    facts = replace(BASE, batteries_ready=2, batteries_by_arrival=2, road_km=50.0, ahead=0.5, wait_minutes=30.0)
    cheaper = other(price_fen=PRICE - 5000)
    ranked = {item.facts.code: item for item in scoring.rank([facts, cheaper])}
    expected = (
        1.0 * (2 / 4)  # ready: 2 swaps -> 2 / (2 + 2)
        + 0.5 * (2 / 4)  # arriving: 2 more -> 2 / (2 + 2)
        - 0.5 * 0.5  # distance: 50 km / 100
        - 1.5 * 0.25  # detour: 50 km x (1 - 0.5) / 100
        - 1.0 * 0.5  # price: 50 yuan above the cheapest, in 100 yuan
        - 1.5 * 0.5  # wait: 30 min / 60
    )
    assert ranked["SWN-A"].score == pytest.approx(expected)
    assert sum(ranked["SWN-A"].contributions.values()) == pytest.approx(expected)


def test_an_unknown_price_counts_as_the_dearest_known_one() -> None:
    unknown = other(price_fen=None)
    dear = replace(BASE, station_id=3, code="SWN-C", price_fen=PRICE + 2000)
    by_code = {item.facts.code: item for item in scoring.rank([BASE, unknown, dear])}
    assert by_code["SWN-B"].contributions["price"] == by_code["SWN-C"].contributions["price"] == pytest.approx(-0.2)


def test_ties_fall_to_the_shorter_road_then_the_code() -> None:
    zero = Weights(0, 0, 0, 0, 0, 0)
    assert codes(scoring.rank([other(road_km=13.0), BASE], zero)) == ["SWN-A", "SWN-B"]
    assert codes(scoring.rank([other(), BASE], zero)) == ["SWN-A", "SWN-B"]


def test_learned_weights_rerank_logged_candidates_by_the_same_rule() -> None:
    ranked = scoring.rank([BASE, other(price_fen=30000, road_km=40.0)])
    logged = [
        scoring.LoggedCandidate(item.facts.station_id, item.features, item.serviceable, item.facts.road_km, item.facts.code)
        for item in ranked
    ]
    assert scoring.rank_logged(logged, scoring.DEFAULT_WEIGHTS) == [item.facts.station_id for item in ranked]
    price_only = Weights(ready=0, arriving=0, distance=0, detour=0, price=1, wait=0)
    assert scoring.rank_logged(logged, price_only) == [2, 1]


def test_explanation_in_english() -> None:
    with translation.override("en"):
        assert scoring.explanation(BASE) == "3 batteries ready · 12 km · ¥412.37 est. · ~4 min wait"
        assert scoring.explanation(replace(BASE, batteries_ready=1, ahead=0.8, wait_minutes=0.2)) == (
            "1 battery ready · 12 km ahead · ¥412.37 est. · no wait"
        )
        empty = replace(BASE, batteries_ready=0, price_fen=None, ahead=-0.7, open_on_arrival=False, online=False)
        assert scoring.explanation(empty) == (
            "no compatible battery on arrival · 12 km behind · price unknown · ~4 min wait · closed on arrival · offline"
        )


def test_explanation_is_chinese_by_default() -> None:
    with translation.override("zh-hans"):
        assert scoring.explanation(BASE) == "3 块电池就绪 · 12 公里 · 预计 ¥412.37 · 约等 4 分钟"
        assert scoring.explanation(replace(BASE, batteries_by_arrival=2, ahead=0.9)) == (
            "3 块电池就绪 · 到达前另有 2 块充满 · 前方 12 公里 · 预计 ¥412.37 · 约等 4 分钟"
        )


def test_default_language_is_chinese(settings) -> None:
    assert settings.LANGUAGE_CODE == "zh-hans"


def test_money_is_shown_exactly() -> None:
    assert scoring.format_yuan(41237) == "¥412.37"
    assert scoring.format_yuan(5) == "¥0.05"
    assert scoring.format_yuan(-120) == "-¥1.20"
