"""Validated automation configs: what the checker produces and the engine builds from.

Validation needs no hub (``safetyhub check`` runs without one); building
turns these into armed triggers, compiled conditions and runnable steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.components.automation.conditions import ConditionSpec

__all__ = ("TriggerSpec", "StepSpec", "AutomationSpec", "BlueprintUse", "ConditionSpec")


@dataclass
class TriggerSpec:
    """One trigger: its platform, validated model and the engine's common keys."""

    platform: str
    model: Any
    idx: int
    id: str
    path: str
    alias: str | None = None
    enabled: bool = True
    variables: dict[str, Any] | None = None
    fingerprint: str = ""


@dataclass
class StepSpec:
    """One action step.  ``conf`` holds the step's own normalised keys."""

    kind: str
    path: str
    conf: dict[str, Any] = field(default_factory=dict)
    #: Named child sequences: "sequence", "then", "else", "default", "option<N>", "branch<N>".
    sequences: dict[str, list[StepSpec]] = field(default_factory=dict)
    #: Named condition lists: "conditions", "if", "while", "until", "option<N>".
    conditions: dict[str, list[ConditionSpec]] = field(default_factory=dict)
    triggers: list[TriggerSpec] = field(default_factory=list)
    alias: str | None = None
    enabled: bool = True
    continue_on_error: bool = False


@dataclass
class BlueprintUse:
    """Where an automation came from when it was made from a blueprint."""

    path: str
    name: str
    file: str
    inputs: dict[str, Any]
    #: Input name → selector, for checks that need live states (device_class).
    selectors: dict[str, Any] = field(default_factory=dict)


@dataclass
class AutomationSpec:
    """One valid automation."""

    key: str
    id: str | None
    alias: str
    description: str
    mode: str
    max: int
    max_exceeded: str
    initial_state: bool | None
    stored_traces: int
    variables: dict[str, Any] | None
    trigger_variables: dict[str, Any] | None
    triggers: list[TriggerSpec]
    conditions: list[ConditionSpec]
    actions: list[StepSpec]
    fingerprint: str
    file: str
    line: int | None
    raw: Any = None
    blueprint: BlueprintUse | None = None
