"""The automation editor pages: use a blueprint, the visual editor, YAML, delete.

Plain HTML forms posted to the page's own URL (they work on any phone and
need no script): a problem re-renders the form with what was typed and the
problems beside their fields, and nothing is saved.  A good form is written
by the UI's config writer (``hub.ui_config``: ``ui/automation.yaml``, checked
like ``safetyhub check``, etag-guarded) and the automation is reloaded, so it
works at once with no restart.  Only automations the UI wrote can be changed
here; hand-written ones are shown read-only (the writer never edits
config.yaml's own blocks).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import yaml
from aiohttp import web

from hub.components.automation.blueprints import (
    Blueprint,
    find_blueprint,
    list_blueprints,
    load_blueprint,
    search_dirs,
)
from hub.components.automation.const import RUNTIME
from hub.components.automation.strings import translator
from hub.components.automation.ui_blueprint import (
    ID_RE,
    Problem,
    bilingual,
    blueprint_fields,
    parse_blueprint_form,
    yaml_problem,
)
from hub.components.automation.ui_editor import (
    FIELDS,
    MODES,
    SECTIONS,
    Editor,
    Row,
    from_form,
    to_config,
    to_rows,
)
from hub.config.ui_writer import ConfigConflict, ConfigRejected, IdCollision
from hub.http.routes import Route, current_user
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang

if TYPE_CHECKING:
    from multidict import MultiMapping

    from hub.components.automation.manager import AutomationManager
    from hub.config.ui_writer import UIConfig
    from hub.hub import Hub

__all__ = ("routes", "BLOCK")

#: The config block automations live in.
BLOCK = "automation"
#: Ids the pages' own paths use.
_RESERVED = frozenset({"new", "reload"})


def _tr(request: web.Request) -> Callable[..., str]:
    return translator(request_lang(request))


def _writer(request: web.Request) -> UIConfig | None:
    return request.app[HUB_KEY].ui_config


def _actor(request: web.Request) -> str:
    user = current_user(request)
    return str(user.username) if user is not None else "web"


def _blueprint(hub: Hub, path: str) -> Blueprint | None:
    found = find_blueprint(path, search_dirs(hub.config_dir))
    if found is None:
        return None
    file, folder, source = found
    return load_blueprint(file, folder, source, path)


async def _item(request: web.Request, item_id: str) -> tuple[dict[str, Any] | None, str]:
    """Return the config item with this id (as the writer lists it) and the block's etag."""
    writer = _writer(request)
    if writer is None:
        return None, ""
    items, etag = await writer.list_items(BLOCK)
    return next((i for i in items if str(i.get("id")) == item_id), None), etag


async def _opened(request: web.Request, item_id: str | None) -> tuple[dict[str, Any] | None, str]:
    """Return the item a page opens (None for a new one) and the etag; 404 for an unknown id."""
    if item_id is None:
        return None, ""
    existing, etag = await _item(request, item_id)
    if existing is None:
        raise web.HTTPNotFound()
    return existing, etag


async def _saved(request: web.Request, item_id: str, *, removed: bool = False) -> web.Response:
    """Reload the automation the write changed (unchanged ones keep running), then show it."""
    manager: AutomationManager | None = request.app[HUB_KEY].data.get(RUNTIME)
    if manager is not None:
        await manager.reload([item_id])
    target = "/automations?deleted=1" if removed else f"/automations/{quote(item_id)}?saved=1"
    return web.Response(status=303, headers={"Location": target})


async def _write(
    request: web.Request,
    item: dict[str, Any],
    *,
    etag: str | None,
    existing: str | None,
) -> tuple[list[str], Problem | None]:
    """Write ``item``; return (check errors, problem) — both empty on success."""
    writer = _writer(request)
    if writer is None:
        return [], Problem("err.no_writer")
    try:
        if existing is None:
            await writer.add_item(BLOCK, item, etag=None, actor=_actor(request))
        else:
            await writer.update_item(BLOCK, existing, item, etag=etag or "", actor=_actor(request))
    except ConfigConflict:
        return [], Problem("err.conflict")
    except IdCollision as err:
        return [], Problem("err.id_taken", {"id": err.item_id})
    except ConfigRejected as err:
        return err.errors, Problem("err.rejected")
    return [], None


def _id_problem(item_id: str, *, new: bool, hub: Hub) -> Problem | None:
    if not new:
        return None
    if not ID_RE.fullmatch(item_id) or item_id in _RESERVED:
        return Problem("err.id")
    manager: AutomationManager | None = hub.data.get(RUNTIME)
    if manager is not None and manager.get(item_id) is not None:
        return Problem("err.id_taken", {"id": item_id})
    return None


def _problem_text(problem: Problem | None, tr: Callable[..., str], lang: str) -> str:
    if problem is None:
        return ""
    text = tr(problem.key, **dict(problem.values))
    # A library's own words help in English; the Thai page keeps to the catalogue.
    return f"{text}: {problem.detail}" if problem.detail and lang == "en" else text


# -- the chooser ------------------------------------------------------------------------


async def page_new(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    blueprints = [b for b in list_blueprints(search_dirs(hub.config_dir)) if not b.errors]
    lang = request_lang(request)
    choices = [
        {"path": b.path, "name": bilingual(b.name, lang), "description": bilingual(b.description, lang)}
        for b in blueprints
    ]
    return render(
        request,
        "automation_new.html",
        blueprints=choices,
        tr=_tr(request),
        writable=_writer(request) is not None,
    )


# -- use a blueprint ----------------------------------------------------------------------


async def page_use_blueprint(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    lang = request_lang(request)
    tr = _tr(request)
    item_id = request.match_info.get("automation_id")
    existing: dict[str, Any] | None = None
    etag = ""
    form: MultiMapping[Any] | None = None
    if request.method == "POST":
        form = await request.post()
        path = str(form.get("blueprint") or "")
        etag = str(form.get("etag") or "")
    else:
        path = request.query.get("path", "")
    if item_id is not None:
        existing, current_etag = await _item(request, item_id)
        if (
            existing is None
            or not existing.get("_editable")
            or not isinstance(existing.get("use_blueprint"), Mapping)
        ):
            raise web.HTTPNotFound()
        path = str(existing["use_blueprint"].get("path", ""))
        etag = etag or current_etag
    if not path:
        return web.Response(status=303, headers={"Location": "/automations/new"})
    blueprint = _blueprint(hub, path)
    if blueprint is None or blueprint.errors:
        problem = (
            Problem("err.no_blueprint", {"path": path})
            if blueprint is None
            else Problem("err.blueprint_invalid")
        )
        return render(
            request,
            "automation_blueprint.html",
            status=404,
            tr=tr,
            blueprint=None,
            fields=[],
            problem=_problem_text(problem, tr, lang),
            errors=[],
            values={},
            etag="",
            item_id=item_id,
            path=path,
        )
    values: dict[str, Any] = {
        "id": item_id or "",
        "alias": str(existing.get("alias", "")) if existing else "",
        "description": str(existing.get("description", "")) if existing else "",
    }
    entered: dict[str, Any] | None = None
    problems: dict[str, Problem] = {}
    errors: list[str] = []
    top: Problem | None = None
    if existing is not None and form is None:
        inputs = existing["use_blueprint"].get("input")
        entered = dict(inputs) if isinstance(inputs, Mapping) else {}
    if form is not None:
        values = {k: str(form.get(k) or "").strip() for k in ("id", "alias", "description")}
        if item_id is not None:
            values["id"] = item_id
        inputs, entered, problems = parse_blueprint_form(hub, blueprint, form)
        meta: dict[str, Problem] = {}
        id_problem = _id_problem(values["id"], new=item_id is None, hub=hub)
        if id_problem is not None:
            meta["id"] = id_problem
        if not values["alias"]:
            meta["alias"] = Problem("err.required")
        if problems or meta:
            top = Problem("err.form")
            problems = {**problems, **{f"_{k}": v for k, v in meta.items()}}
        else:
            item: dict[str, Any] = {"id": values["id"], "alias": values["alias"]}
            if values["description"]:
                item["description"] = values["description"]
            item["use_blueprint"] = {"path": blueprint.path, "input": inputs}
            errors, top = await _write(request, item, etag=etag, existing=item_id)
            if top is None:
                return await _saved(request, values["id"])
    fields = blueprint_fields(
        hub, blueprint, lang, entered, {k: v for k, v in problems.items() if not k.startswith("_")}
    )
    return render(
        request,
        "automation_blueprint.html",
        status=400 if top is not None else 200,
        tr=tr,
        blueprint={
            "path": blueprint.path,
            "name": bilingual(blueprint.name, lang),
            "description": bilingual(blueprint.description, lang),
        },
        fields=[{**f.__dict__, "problem": _problem_text(f.problem, tr, lang)} for f in fields],
        meta_problems={k[1:]: _problem_text(v, tr, lang) for k, v in problems.items() if k.startswith("_")},
        problem=_problem_text(top, tr, lang),
        errors=errors,
        values=values,
        etag=etag,
        item_id=item_id,
        path=blueprint.path,
    )


# -- the visual editor --------------------------------------------------------------------


def _entity_options(hub: Hub) -> list[tuple[str, str]]:
    return sorted(
        ((s.entity_id, str(s.attributes.get("friendly_name") or s.entity_id)) for s in hub.states.all()),
        key=lambda c: (c[1], c[0]),
    )


def _services(hub: Hub) -> list[str]:
    return sorted(f"{domain}.{name}" for domain, items in hub.services.services().items() for name in items)


def _editor_context(request: web.Request, editor: Editor) -> dict[str, Any]:
    hub = request.app[HUB_KEY]
    tr = _tr(request)
    lang = request_lang(request)
    entities = _entity_options(hub)
    return {
        "editor": editor,
        "sections": [
            {
                "prefix": prefix,
                "key": key,
                "rows": [
                    {
                        "kind": row.kind,
                        "vals": row.values,
                        "fields": FIELDS[prefix][row.kind],
                        "problems": {k: _problem_text(p, tr, lang) for k, p in row.problems.items()},
                    }
                    for row in editor.rows[prefix]
                ],
                "kinds": list(FIELDS[prefix]),
                "problem": _problem_text(editor.problems.get(prefix), tr, lang),
            }
            for prefix, key in SECTIONS.items()
        ],
        "meta_problems": {
            k: _problem_text(p, tr, lang) for k, p in editor.problems.items() if k not in SECTIONS
        },
        "entities": entities,
        "sos_entities": [c for c in entities if c[0].startswith("sos.")],
        "services": _services(hub),
        "modes": MODES,
    }


async def page_edit(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    tr = _tr(request)
    lang = request_lang(request)
    item_id = request.match_info.get("automation_id")
    existing, etag = await _opened(request, item_id)
    if existing is not None and item_id is not None:
        if not existing.get("_editable"):
            return web.Response(status=303, headers={"Location": f"/automations/{quote(item_id)}/yaml"})
        if isinstance(existing.get("use_blueprint"), Mapping):
            return web.Response(status=303, headers={"Location": f"/automations/{quote(item_id)}/blueprint"})
    errors: list[str] = []
    top: Problem | None = None
    unsupported = False
    if request.method == "POST":
        form = await request.post()
        etag = str(form.get("etag") or etag)
        editor, op = from_form(form, new=item_id is None)
        if item_id is not None:
            editor.id = item_id
        if op == "save":
            if item_id is None and "id" not in editor.problems:
                id_problem = _id_problem(editor.id, new=True, hub=hub)
                if id_problem is not None:
                    editor.problems["id"] = id_problem
            if editor.has_problems:
                top = Problem("err.form")
            else:
                errors, top = await _write(request, to_config(editor), etag=etag, existing=item_id)
                if top is None:
                    return await _saved(request, editor.id)
    elif existing is not None:
        plain = {k: v for k, v in existing.items() if not str(k).startswith("_")}
        found = to_rows(plain)
        if found is None:
            unsupported = True
            editor = Editor(id=item_id or "")
        else:
            editor = found
    else:
        editor = Editor()
        editor.rows["t"].append(_first_row("t"))
        editor.rows["a"].append(_first_row("a"))
    return render(
        request,
        "automation_edit.html",
        status=400 if top is not None else 200,
        tr=tr,
        item_id=item_id,
        etag=etag,
        unsupported=unsupported,
        problem=_problem_text(top, tr, lang),
        errors=errors,
        **_editor_context(request, editor),
    )


def _first_row(prefix: str) -> Row:
    return Row(next(iter(FIELDS[prefix])))


# -- YAML ---------------------------------------------------------------------------------


def _yaml_text(item: Mapping[str, Any]) -> str:
    plain = {k: v for k, v in item.items() if not str(k).startswith("_")}
    return yaml.safe_dump(json.loads(json.dumps(plain, default=str)), allow_unicode=True, sort_keys=False)


async def page_yaml(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    tr = _tr(request)
    lang = request_lang(request)
    item_id = request.match_info.get("automation_id")
    existing, etag = await _opened(request, item_id)
    editable = existing is None or bool(existing.get("_editable"))
    text = _yaml_text(existing) if existing is not None else "id: \nalias: \ntriggers: []\nactions: []\n"
    errors: list[str] = []
    top: Problem | None = None
    if request.method == "POST" and editable:
        form = await request.post()
        etag = str(form.get("etag") or etag)
        text = str(form.get("yaml") or "")
        parsed, top = yaml_problem(text)
        if top is None and not (isinstance(parsed, dict) and "id" in parsed):
            top = Problem("err.not_automation")
        if top is None and isinstance(parsed, dict):
            new_id = str(parsed.get("id"))
            if item_id is not None and new_id != item_id:
                top = Problem("err.id_changed")
            else:
                top = _id_problem(new_id, new=item_id is None, hub=hub)
            if top is None:
                errors, top = await _write(request, parsed, etag=etag, existing=item_id)
                if top is None:
                    return await _saved(request, new_id)
    return render(
        request,
        "automation_yaml.html",
        status=400 if top is not None else 200,
        tr=tr,
        item_id=item_id,
        source=existing.get("_source", "") if existing else "",
        name=(existing.get("alias") or item_id) if existing else "",
        editable=editable,
        visual=existing is not None
        and not isinstance(existing.get("use_blueprint"), Mapping)
        and to_rows({k: v for k, v in existing.items() if not str(k).startswith("_")}) is not None,
        yaml_text=text,
        etag=etag,
        problem=_problem_text(top, tr, lang),
        errors=errors,
    )


async def delete(request: web.Request) -> web.Response:
    tr = _tr(request)
    lang = request_lang(request)
    item_id = request.match_info["automation_id"]
    form = await request.post()
    existing, etag = await _item(request, item_id)
    writer = _writer(request)
    if existing is None or not existing.get("_editable") or writer is None:
        raise web.HTTPNotFound()
    try:
        await writer.remove_item(BLOCK, item_id, etag=str(form.get("etag") or etag), actor=_actor(request))
    except ConfigConflict:
        problem, errors = Problem("err.conflict"), []
    except ConfigRejected as err:
        problem, errors = Problem("err.rejected"), err.errors
    else:
        return await _saved(request, item_id, removed=True)
    return render(
        request,
        "error.html",
        status=409,
        status_code=409,
        message=_problem_text(problem, tr, lang),
        details=errors,
    )


def routes() -> list[Route]:
    """The editor's routes; registered before ``/automations/{automation_id}``."""
    admin: dict[str, Any] = {"role": "admin", "api": False}
    return [
        Route("GET", "/automations/new", page_new, summary="New automation: choose how", **admin),
        Route("GET", "/automations/new/blueprint", page_use_blueprint, summary="Use a blueprint", **admin),
        Route(
            "POST",
            "/automations/new/blueprint",
            page_use_blueprint,
            summary="Save a blueprint automation",
            **admin,
        ),
        Route("GET", "/automations/new/edit", page_edit, summary="Visual editor (new)", **admin),
        Route("POST", "/automations/new/edit", page_edit, summary="Save from the visual editor", **admin),
        Route("GET", "/automations/new/yaml", page_yaml, summary="New automation as YAML", **admin),
        Route("POST", "/automations/new/yaml", page_yaml, summary="Save a new automation from YAML", **admin),
        Route(
            "GET",
            "/automations/{automation_id}/blueprint",
            page_use_blueprint,
            summary="Edit blueprint inputs",
            **admin,
        ),
        Route(
            "POST",
            "/automations/{automation_id}/blueprint",
            page_use_blueprint,
            summary="Save blueprint inputs",
            **admin,
        ),
        Route("GET", "/automations/{automation_id}/edit", page_edit, summary="Visual editor", **admin),
        Route(
            "POST",
            "/automations/{automation_id}/edit",
            page_edit,
            summary="Save from the visual editor",
            **admin,
        ),
        Route("GET", "/automations/{automation_id}/yaml", page_yaml, summary="YAML view and edit", **admin),
        Route("POST", "/automations/{automation_id}/yaml", page_yaml, summary="Save from YAML", **admin),
        Route(
            "POST", "/automations/{automation_id}/delete", delete, summary="Delete a UI automation", **admin
        ),
    ]
