"""The committee's weighting: points, scores and order, documented in docs/region.md."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from integrations.region.config import DEFAULT_CRITERIA, Criterion, RankingConfig, RegionConfig
from integrations.region.ranking import points, rank


def _c(key: str, weight: float, best: float, worst: float) -> Criterion:
    return Criterion(key=key, label_th=key, label_en=key, weight=weight, best=best, worst=worst)


def test_points_are_linear_clamped_and_zero_when_missing() -> None:
    sos = _c("sos_ack_p90", 25, best=60, worst=600)
    assert points(sos, 60) == 100 and points(sos, 30) == 100  # better than best: capped
    assert points(sos, 600) == 0 and points(sos, 900) == 0
    assert points(sos, 330) == 50
    assert points(sos, None) == 0
    cover = _c("patrol_coverage", 15, best=100, worst=0)
    assert points(cover, 72.5) == 72.5


def test_default_weights_sum_to_100_and_cover_the_programme() -> None:
    assert sum(c.weight for c in DEFAULT_CRITERIA) == 100
    keys = {c.key for c in DEFAULT_CRITERIA}
    assert {"sos_ack_p90", "poll_trust_police", "poll_fear_of_crime", "patrol_coverage"} <= keys
    assert {"cameras_linked", "big6_meeting_held", "big6_resolutions_done"} <= keys


def test_rank_by_weighted_mean_ties_by_id_and_missing_reports() -> None:
    criteria = [_c("a", 3, best=100, worst=0), _c("b", 1, best=0, worst=10)]
    figures: dict[str, dict[str, float | None]] = {
        "st-x": {"a": 50, "b": 0},  # (3*50 + 1*100)/4 = 62.5
        "st-y": {"a": 100, "b": 10},  # (300 + 0)/4 = 75
        "st-z": {"a": 50, "b": 0},  # same as x: ties go by id
        "st-w": {"a": None},  # reported nothing measurable
    }
    out = rank(criteria, figures, ["st-w", "st-x", "st-y", "st-z", "st-silent"])
    assert [(s.station_id, s.rank, s.score) for s in out] == [
        ("st-y", 1, 75.0),
        ("st-x", 2, 62.5),
        ("st-z", 3, 62.5),
        ("st-silent", 4, 0.0),
        ("st-w", 5, 0.0),
    ]
    assert out[0].details == {"a": (100, 100.0), "b": (10, 0.0)}
    silent = next(s for s in out if s.station_id == "st-silent")
    assert not silent.reported and silent.missing == ["a", "b"]
    assert next(s for s in out if s.station_id == "st-w").missing == ["a", "b"]


def test_reweighting_changes_the_order() -> None:
    figures = {"st-a": {"speed": 60, "cams": 1}, "st-b": {"speed": 600, "cams": 40}}
    fast = [_c("speed", 9, best=60, worst=600), _c("cams", 1, best=40, worst=0)]
    cams = [_c("speed", 1, best=60, worst=600), _c("cams", 9, best=40, worst=0)]
    assert [s.station_id for s in rank(fast, figures, list(figures))] == ["st-a", "st-b"]
    assert [s.station_id for s in rank(cams, figures, list(figures))] == ["st-b", "st-a"]


def test_config_errors_name_the_criterion() -> None:
    with pytest.raises(ValidationError, match="best and worst must differ"):
        _c("x", 1, best=5, worst=5)
    with pytest.raises(ValidationError, match="criteria named twice: x"):
        RankingConfig(criteria=[_c("x", 1, 1, 0), _c("x", 2, 1, 0)])
    with pytest.raises(ValidationError):
        RegionConfig.model_validate({"id": "Region 9"})
    cfg = RegionConfig.model_validate(
        {
            "id": "region-9",
            "ranking": {
                "criteria": [
                    {
                        "key": "sos_ack_p90",
                        "label_th": "ก",
                        "label_en": "a",
                        "weight": 2,
                        "best": 30,
                        "worst": 300,
                    }
                ]
            },
        }
    )
    assert cfg.ranking.criteria[0].best == 30 and cfg.max_snapshot == 0
