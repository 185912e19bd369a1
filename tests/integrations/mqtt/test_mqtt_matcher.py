"""The topic router against paho-mqtt's reference matcher."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.client import topic_matches_sub

from integrations.mqtt.matcher import TopicRouter, filter_matches, validate_filter

LEVEL = st.sampled_from(["a", "b", "zigbee2mqtt", "", "$SYS", "x y"])
TOPIC = st.lists(LEVEL, min_size=1, max_size=5).map("/".join).filter(bool)
FILTER = (
    st.lists(st.one_of(LEVEL, st.just("+")), min_size=1, max_size=5)
    .flatmap(lambda levels: st.sampled_from(["/".join(levels), "/".join([*levels, "#"]), "#"]))
    .filter(bool)
)


@settings(max_examples=400, deadline=None)
@given(FILTER, TOPIC)
def test_router_agrees_with_paho(topic_filter: str, topic: str) -> None:
    assert filter_matches(topic_filter, topic) == topic_matches_sub(topic_filter, topic)


@settings(max_examples=100, deadline=None)
@given(st.lists(FILTER, min_size=1, max_size=12, unique=True), st.lists(TOPIC, min_size=1, max_size=8))
def test_many_filters_and_removal(filters: list[str], topics: list[str]) -> None:
    router: TopicRouter[str] = TopicRouter()
    removers = {f: router.add(f, f) for f in filters}
    for topic in topics:
        assert sorted(router.match(topic)) == sorted(f for f in filters if topic_matches_sub(f, topic))
    for f in filters[::2]:
        removers[f]()
        removers[f]()  # twice is harmless
    kept = filters[1::2]
    for topic in topics:
        assert sorted(router.match(topic)) == sorted(f for f in kept if topic_matches_sub(f, topic))
    for f in kept:
        removers[f]()
    assert len(router) == 0 and router._root.empty()


def test_basics() -> None:
    router: TopicRouter[int] = TopicRouter()
    router.add("zigbee2mqtt/gate", 1)
    router.add("zigbee2mqtt/+", 2)
    router.add("zigbee2mqtt/#", 3)
    router.add("#", 4)
    assert sorted(router.match("zigbee2mqtt/gate")) == [1, 2, 3, 4]
    assert sorted(router.match("zigbee2mqtt")) == [3, 4]  # "a/#" matches "a"
    assert router.match("$SYS/broker/uptime") == []  # wildcards never match $ topics first level
    for bad in ("a/#/b", "a+/b", "", "a/b#"):
        with pytest.raises(ValueError):
            validate_filter(bad)
