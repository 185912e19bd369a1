"""Event payloads in the shapes real cameras send (written for these tests, after the vendors' formats).

Each is one ``wsnt:NotificationMessage`` as it appears inside a PullMessages
reply or a Notify, with the namespace declarations the vendor puts on it.
"""

from __future__ import annotations

_NS = (
    'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:tns1="http://www.onvif.org/ver10/topics" xmlns:wsa5="http://www.w3.org/2005/08/addressing"'
)
_DIALECT = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"


def _message(
    topic: str, source: str, data: str, *, ns: str = "", op: str = "Changed", producer: str = ""
) -> str:
    return (
        f"<wsnt:NotificationMessage {_NS} {ns}>"
        f'<wsnt:Topic Dialect="{_DIALECT}">{topic}</wsnt:Topic>{producer}'
        f'<wsnt:Message><tt:Message UtcTime="2026-01-01T00:00:05Z" PropertyOperation="{op}">'
        f"<tt:Source>{source}</tt:Source><tt:Data>{data}</tt:Data></tt:Message></wsnt:Message>"
        "</wsnt:NotificationMessage>"
    )


def _items(**values: str) -> str:
    return "".join(f'<tt:SimpleItem Name="{k}" Value="{v}"/>' for k, v in values.items())


def generic_motion(on: bool) -> str:
    """Profile S cell motion (Dahua/Uniview/Axis-style rule engine)."""
    return _message(
        "tns1:RuleEngine/CellMotionDetector/Motion",
        _items(
            VideoSourceConfigurationToken="VideoSourceConfig_1",
            VideoAnalyticsConfigurationToken="VideoAnalyticsConfig_1",
            Rule="MotionDetectorRule",
        ),
        _items(IsMotion="true" if on else "false"),
    )


def hikvision_motion_alarm(on: bool) -> str:
    """Hikvision's VideoSource/MotionAlarm (State), with its ProducerReference."""
    producer = "<wsnt:ProducerReference><wsa5:Address>http://192.0.2.64/onvif/event</wsa5:Address></wsnt:ProducerReference>"
    return _message(
        "tns1:VideoSource/MotionAlarm",
        _items(Source="VideoSource_1"),
        _items(State="true" if on else "false"),
        producer=producer,
    )


def hikvision_alarm_in(on: bool) -> str:
    """Hikvision alarm input (a panic button wired to the camera): a vendor namespace inside the topic."""
    return _message(
        "tns1:Device/Trigger/tnshik:AlarmIn",
        _items(AlarmInToken="AlarmIn_1"),
        _items(State="true" if on else "false"),
        ns='xmlns:tnshik="http://www.hikvision.com/2011/event/topics"',
        op="Initialized",
    )


def tapo_person(on: bool) -> str:
    """TP-Link Tapo person detection (IsPeople)."""
    return _message(
        "tns1:RuleEngine/PeopleDetector/People",
        _items(
            VideoSourceConfigurationToken="vsconf",
            VideoAnalyticsConfigurationToken="VideoAnalyticsToken",
            Rule="MyPeopleDetectorRule",
        ),
        _items(IsPeople="true" if on else "false"),
    )


def tapo_vehicle(on: bool) -> str:
    """Tapo smart event, vehicle."""
    return _message(
        "tns1:RuleEngine/TPSmartEventDetector/TPSmartEvent",
        _items(
            VideoSourceConfigurationToken="vsconf",
            VideoAnalyticsConfigurationToken="VideoAnalyticsToken",
            Rule="MyTPSmartEventDetectorRule",
        ),
        _items(IsVehicle="true" if on else "false"),
    )


def reolink_person(on: bool) -> str:
    """Reolink person detection (Source/State)."""
    return _message(
        "tns1:RuleEngine/MyRuleDetector/PeopleDetect",
        _items(Source="000"),
        _items(State="true" if on else "false"),
    )


def tamper(on: bool) -> str:
    """Generic tamper detector (camera covered or turned)."""
    return _message(
        "tns1:RuleEngine/TamperDetector/Tamper",
        _items(
            VideoSourceConfigurationToken="VideoSourceConfig_1",
            VideoAnalyticsConfigurationToken="VideoAnalyticsConfig_1",
            Rule="TamperDetectorRule",
        ),
        _items(IsTamper="true" if on else "false"),
    )


def field_intrusion(on: bool) -> str:
    """Intrusion / field detection (ObjectsInside)."""
    return _message(
        "tns1:RuleEngine/FieldDetector/ObjectsInside",
        _items(
            VideoSourceConfigurationToken="VideoSourceConfig_1",
            VideoAnalyticsConfigurationToken="VideoAnalyticsConfig_1",
            Rule="FieldRule1",
        ),
        _items(IsInside="true" if on else "false"),
    )


def padded_topic_motion(on: bool) -> str:
    """Cheap firmware: the topic text pretty-printed over lines, with a trailing slash."""
    return _message(
        "\n        tns1:RuleEngine/CellMotionDetector/Motion/\n      ",
        _items(VideoSourceConfigurationToken="000", VideoAnalyticsConfigurationToken="000", Rule="000"),
        _items(IsMotion="true" if on else "false"),
    )


def aliased_prefix_motion(on: bool) -> str:
    """Firmware that binds the ONVIF topic namespace to ``tns`` instead of ``tns1``."""
    return _message(
        "tns:RuleEngine/CellMotionDetector/Motion",
        _items(VideoSourceConfigurationToken="alias", VideoAnalyticsConfigurationToken="alias", Rule="alias"),
        _items(IsMotion="true" if on else "false"),
        ns='xmlns:tns="http://www.onvif.org/ver10/topics"',
    )


def unknown_topic() -> str:
    """A topic no parser knows (an Axis-only sensor)."""
    return _message(
        "tns1:Device/tnsaxis:Sensor/PIR",
        _items(sensor="0"),
        _items(state="1"),
        ns='xmlns:tnsaxis="http://www.axis.com/2009/event/topics"',
    )


def motion_without_data() -> str:
    """Broken: a motion topic whose message has no Data items."""
    return (
        f'<wsnt:NotificationMessage {_NS}><wsnt:Topic Dialect="{_DIALECT}">'
        "tns1:RuleEngine/CellMotionDetector/Motion</wsnt:Topic><wsnt:Message>"
        '<tt:Message UtcTime="2026-01-01T00:00:05Z" PropertyOperation="Changed"><tt:Source/></tt:Message>'
        "</wsnt:Message></wsnt:NotificationMessage>"
    )
