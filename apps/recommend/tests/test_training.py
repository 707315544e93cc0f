"""Learning the factor weights from drivers' choices, and when the API uses them."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.assets.tests.factories import StationFactory
from apps.recommend import model_files, scoring, services, tasks
from apps.recommend.tests.factories import vehicle_carrying
from apps.recommend.tests.synthetic import TRUE_WEIGHTS, history_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    return history_create(vehicle=vehicle_carrying(), stations=[StationFactory() for _ in range(6)], count=600)


def test_a_model_trained_on_a_known_preference_beats_the_weighted_score_on_held_out_choices(history) -> None:
    report = services.recommender_train()
    assert report.trained
    assert (report.choices, report.train_size, report.test_size) == (600, 480, 120)
    assert report.model is not None
    assert report.weighted is not None
    assert report.model.top1 > report.weighted.top1 + 0.1
    assert report.model.top3 >= report.weighted.top3
    assert report.better
    # It learned what these drivers care about: price and distance far above spare batteries.
    learned = report.weights
    assert learned["price"] > 3 * learned["ready"]
    assert learned["distance"] > 3 * learned["ready"]
    assert TRUE_WEIGHTS.price > TRUE_WEIGHTS.ready  # the preference the history was made with


def test_training_saves_a_versioned_model_file_with_its_metadata(history, settings) -> None:
    report = services.recommender_train()
    directory = settings.RECOMMEND_MODEL_DIR
    assert report.version == "v0001"
    assert sorted(path.name for path in directory.iterdir()) == [
        "current.json",
        "recommender-v0001.joblib",
        "recommender-v0001.json",
    ]
    metadata = json.loads((directory / "recommender-v0001.json").read_text())
    assert metadata == json.loads((directory / "current.json").read_text())
    assert metadata["version"] == "v0001"
    assert metadata["features"] == list(scoring.FEATURES)
    assert metadata["better"] is True
    assert metadata["model_hit_rates"] == report.model.as_dict()
    assert metadata["weighted_hit_rates"] == report.weighted.as_dict()
    assert set(metadata) >= {"trained_at", "weights", "train_size", "test_size"}
    assert services.recommender_train().version == "v0002"


def test_old_versions_are_pruned(history, settings) -> None:
    settings.RECOMMEND_MODELS_KEPT = 2
    for _ in range(3):
        services.recommender_train()
    names = sorted(path.name for path in settings.RECOMMEND_MODEL_DIR.glob("recommender-*"))
    assert names == [
        "recommender-v0002.joblib",
        "recommender-v0002.json",
        "recommender-v0003.joblib",
        "recommender-v0003.json",
    ]


def test_too_little_history_trains_nothing(settings) -> None:
    history_create(vehicle=vehicle_carrying(), stations=[StationFactory() for _ in range(3)], count=20)
    report = services.recommender_train()
    assert not report.trained
    assert report.reason == "not_enough_history"
    assert report.choices == 20
    assert not settings.RECOMMEND_MODEL_DIR.exists()
    assert model_files.active_model() is None


def test_the_active_model_is_the_trained_one_when_better(history) -> None:
    report = services.recommender_train()
    model = model_files.active_model()
    assert model is not None
    assert model.version == report.version
    assert model.weights.as_dict() == pytest.approx(report.weights)


def test_a_model_that_does_not_beat_the_weighted_score_is_not_used(history, settings) -> None:
    services.recommender_train()
    current = settings.RECOMMEND_MODEL_DIR / "current.json"
    current.write_text(json.dumps({**json.loads(current.read_text()), "better": False}))
    assert model_files.active_model() is None


def test_an_unreadable_model_falls_back_to_the_weighted_score(history, settings, caplog) -> None:
    services.recommender_train()
    (settings.RECOMMEND_MODEL_DIR / "recommender-v0001.joblib").write_bytes(b"not a model")
    assert model_files.active_model() is None
    assert "cannot be used" in caplog.text


def test_the_management_command_reports_both_hit_rates(history) -> None:
    out = StringIO()
    call_command("train_recommender", verbosity=0, stdout=out)
    text = out.getvalue()
    assert "Model v0001: trained on 480 choices, tested on 120 held out" in text
    assert "learned weights" in text
    assert "weighted score" in text
    assert "the API uses them" in text


def test_the_management_command_says_when_there_is_too_little_history() -> None:
    out = StringIO()
    call_command("train_recommender", verbosity=0, stdout=out)
    assert out.getvalue().startswith("No model trained (not_enough_history): 0 usable choices")


def test_the_periodic_task_trains(history) -> None:
    summary = tasks.retrain_recommender.apply().get()  # runs here, in either mode
    assert summary["trained"] is True
    assert summary["version"] == "v0001"
    assert summary["better"] is True


def test_choices_outside_the_candidates_are_left_out(history) -> None:
    from apps.recommend.models import RecommendationLog

    RecommendationLog.objects.filter(pk=history[0].pk).update(chosen_station=StationFactory())
    report = services.recommender_train()
    assert (report.choices, report.outside) == (599, 1)
