"""Hypothesis strategies for JSON bodies described by an OpenAPI 3.0 schema (LINE's webhook.yml).

Small on purpose: it covers the keywords line-openapi uses (``$ref``,
``allOf``, ``oneOf`` with a discriminator, objects, arrays, enums, strings,
numbers, booleans, ``nullable``), so generation stays fast enough for the
test run.  Optional properties are sometimes left out, and the discriminator
property of each ``oneOf`` branch is pinned to its mapped value, so every
body is one LINE could send.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ("body_strategy",)

_MAX_ITEMS = 3


class _Builder:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self.cache: dict[str, st.SearchStrategy[Any]] = {}

    def ref(self, ref: str) -> st.SearchStrategy[Any]:
        name = ref.rsplit("/", 1)[1]
        if name not in self.cache:
            self.cache[name] = st.deferred(lambda: self.build(self.schemas[name]))
        return self.cache[name]

    def _merged(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Flatten ``allOf`` (and refs inside it) into one object schema."""
        out: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        props = dict(out.get("properties") or {})
        required = list(out.get("required") or [])
        for part in schema.get("allOf", []):
            if "$ref" in part:
                part = self.schemas[part["$ref"].rsplit("/", 1)[1]]
            part = self._merged(part) if "allOf" in part else part
            props.update(part.get("properties") or {})
            required += part.get("required") or []
            out.setdefault("type", part.get("type"))
        out["properties"], out["required"] = props, sorted(set(required))
        return out

    def build(self, schema: dict[str, Any], pinned: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
        if "$ref" in schema:
            return self.ref(schema["$ref"])
        if "oneOf" in schema:
            disc = schema.get("discriminator") or {}
            mapping = disc.get("mapping") or {}
            branches = []
            for value, ref in mapping.items():
                target = self.schemas[ref.rsplit("/", 1)[1]]
                branches.append(self.build(target, {disc["propertyName"]: value}))
            if not branches:
                branches = [self.build(s) for s in schema["oneOf"]]
            return st.one_of(branches)
        if "allOf" in schema:
            schema = self._merged(schema)
        strategy = self._plain(schema, pinned or {})
        if schema.get("nullable"):
            strategy = st.none() | strategy
        return strategy

    def _plain(self, schema: dict[str, Any], pinned: dict[str, Any]) -> st.SearchStrategy[Any]:
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        if kind == "object":
            props: dict[str, Any] = schema.get("properties") or {}
            required = set(schema.get("required") or []) | set(pinned)
            fixed = {k: st.just(v) for k, v in pinned.items()}
            need = {k: fixed[k] if k in fixed else self.build(v) for k, v in props.items() if k in required}
            need.update({k: v for k, v in fixed.items() if k not in need})
            optional = {k: self.build(v) for k, v in props.items() if k not in required}
            return st.fixed_dictionaries(need, optional=optional)
        if kind == "array":
            items = self.build(schema.get("items") or {})
            low = int(schema.get("minItems", 0))
            return st.lists(
                items,
                min_size=low,
                max_size=max(low, min(int(schema.get("maxItems", _MAX_ITEMS)), _MAX_ITEMS)),
            )
        if kind == "string":
            if schema.get("format") == "uri":
                return st.sampled_from(["https://example.com/a.jpg", "https://obs.line-scdn.net/x"])
            low = int(schema.get("minLength", 0))
            high = min(int(schema.get("maxLength", 60)), 60)
            return st.text(min_size=min(low, high), max_size=max(high, low))
        if kind == "integer":
            return st.integers(min_value=schema.get("minimum", 0), max_value=schema.get("maximum", 2**53))
        if kind == "number":
            return st.floats(
                min_value=schema.get("minimum", -180), max_value=schema.get("maximum", 180), allow_nan=False
            )
        if kind == "boolean":
            return st.booleans()
        return st.none() | st.booleans() | st.text(max_size=10)


def body_strategy(spec: dict[str, Any], schema_name: str) -> st.SearchStrategy[Any]:
    """Return a strategy for instances of ``components.schemas[schema_name]``."""
    return _Builder(spec).ref(f"#/components/schemas/{schema_name}")
