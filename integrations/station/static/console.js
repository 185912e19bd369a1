/* The CCOC console: live board, incident actions, audited camera views, SOS alarm.
 *
 * Plain ES2017, no libraries.  Data from hubs only reaches the page through
 * textContent / setAttribute (never innerHTML): a hub's incident title is
 * text written by whoever pressed a button at a market.
 *
 * Live updates come from the core's /api/stream (ccoc_incident, ccoc_hub,
 * ccoc_command).  Every action goes to /api/ccoc/... with the session's CSRF
 * token; the page shows what the server answers, including "queued" for a
 * hub that is offline.
 */
(function () {
  "use strict";

  var L = {};
  var csrf = "";
  var lang = "th";
  var tz = "Asia/Bangkok";
  var canAct = false;
  var items = {};          // "hub/incident" -> board item
  var units = [];
  var filters = { zone: "", hub_id: "", kind: "" };
  var audio = null;        // AudioContext, once the officer allowed sound
  var beepTimer = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function key(item) { return item.hub_id + "/" + item.id; }

  // "{n} นาที" / "{n} min": the words come from the catalogue (labels.py), in the page's language.
  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, name) { return String(values[name]); });
  }

  function age(ts) {
    var s = Math.max(0, Math.floor(Date.now() / 1000 - ts));
    if (s < 60) { return fill(L["age.s"], { n: s }); }
    if (s < 3600) { return fill(L["age.min"], { n: Math.floor(s / 60) }); }
    if (s < 86400) { return fill(L["age.h_min"], { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) }); }
    return fill(L["age.d"], { n: Math.floor(s / 86400) });
  }

  function fmtTime(ts) {
    try {
      return new Intl.DateTimeFormat(lang === "th" ? "th-TH" : "en-GB", {
        timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
      }).format(new Date(ts * 1000));
    } catch (err) { return new Date(ts * 1000).toLocaleTimeString(); }
  }

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (err) { data = null; }
        if (!response.ok) {
          throw new Error(data && data.error ? data.error : response.status + " " + response.statusText);
        }
        return data;
      });
    });
  }

  // -- the SOS alarm: visible banner, and a beep until acknowledged ------------------------

  function unacknowledgedSos() {
    return Object.keys(items).map(function (k) { return items[k]; }).filter(function (i) {
      return i.kind === "sos" && i.status === "open";
    });
  }

  function beep() {
    if (!audio || audio.state !== "running") { return; }
    // Two short tones (Web Audio, no sound file): audible over a busy control room.
    [0, 0.28].forEach(function (offset, index) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = index ? 660 : 880;
      gain.gain.value = 0.15;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(audio.currentTime + offset);
      osc.stop(audio.currentTime + offset + 0.2);
    });
  }

  function syncAlarm() {
    var banner = document.getElementById("ccoc-alert");
    if (!banner) { return; }
    var open = unacknowledgedSos();
    banner.hidden = open.length === 0;
    banner.setAttribute("data-count", String(open.length));
    var list = document.getElementById("ccoc-alert-list");
    if (list) {
      list.textContent = "";
      open.forEach(function (i) {
        var a = el("a", { href: i.url, "class": "ccoc-alert-item" },
          (i.drill ? "[" + L.drill + "] " : "") + (i.title || i.kind) + " · " + i.hub_name);
        list.appendChild(a);
      });
    }
    document.title = (open.length ? "SOS (" + open.length + ") " : "") + document.title.replace(/^SOS \(\d+\) /, "");
    if (open.length && !beepTimer) {
      beep();
      beepTimer = window.setInterval(beep, 1500);
    } else if (!open.length && beepTimer) {
      window.clearInterval(beepTimer);
      beepTimer = null;
    }
  }

  function enableSound() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    if (!audio) { audio = new Ctx(); }
    audio.resume().then(function () {
      var button = document.getElementById("ccoc-sound");
      if (button) { button.textContent = L.sound_off; button.setAttribute("data-on", "yes"); }
      beep();
    });
  }

  // -- the board ---------------------------------------------------------------------------------

  function visible(item) {
    return item.status !== "closed" &&
      (!filters.zone || item.zone === filters.zone) &&
      (!filters.hub_id || item.hub_id === filters.hub_id) &&
      (!filters.kind || item.kind === filters.kind);
  }

  function pendingNode(item) {
    var box = el("div", { "class": "ccoc-pending" });
    (item.pending || []).forEach(function (p) {
      var badge = el("span", { "class": "badge cmd-" + p.state, "data-command-id": p.id },
        p.command.replace("incident.", "") + ": " + (L[p.state] || p.state));
      box.appendChild(badge);
    });
    return box;
  }

  function actionButtons(item) {
    var box = el("div", { "class": "ccoc-actions", "data-hub-id": item.hub_id, "data-incident-id": item.id });
    ["ack", "dispatch", "note", "close"].forEach(function (action) {
      if (action === "ack" && item.status !== "open") { return; }
      box.appendChild(el("button", {
        type: "button", "class": "btn btn-small ccoc-act" + (action === "ack" ? " btn-primary" : ""),
        "data-action": action
      }, L[action]));
    });
    return box;
  }

  function buildCard(item) {
    var card = el("article", {
      "class": "ccoc-card ccoc-kind-" + item.kind + " ccoc-st-" + item.status +
        (item.kind === "sos" && item.status === "open" ? " ccoc-card-alarm" : "") +
        (item.drill ? " ccoc-card-drill" : ""),
      "data-key": key(item), "data-hub-id": item.hub_id, "data-incident-id": item.id,
      "data-status": item.status, "data-kind": item.kind, "data-zone": item.zone,
      "data-drill": item.drill ? "1" : "0"
    });
    var head = el("header", { "class": "ccoc-card-head" });
    // A drill is trained on like a real SOS, but never mistaken for one (DESIGN §13).
    if (item.drill) { head.appendChild(el("span", { "class": "badge badge-drill" }, L.drill)); }
    head.appendChild(el("span", { "class": "kind kind-" + item.kind }, item.kind));
    head.appendChild(el("span", { "class": "badge status-" + item.status, "data-field": "status" },
      L["st." + item.status] || item.status));
    head.appendChild(el("span", { "class": "ccoc-age", "data-ts": String(item.opened_at) }, age(item.opened_at)));
    card.appendChild(head);
    var title = el("h3", { "class": "ccoc-card-title" });
    title.appendChild(el("a", { href: item.url }, item.title || item.kind));
    card.appendChild(title);
    var meta = el("p", { "class": "ccoc-card-meta" });
    meta.appendChild(el("span", { "class": "ccoc-place" }, item.place || "–"));
    meta.appendChild(document.createTextNode(" · "));
    meta.appendChild(el("span", { "class": "ccoc-hub hub-" + item.hub_status }, item.hub_name));
    if (item.zone) { meta.appendChild(el("span", { "class": "muted" }, " · " + item.zone)); }
    card.appendChild(meta);
    if (item.acknowledged_by) {
      card.appendChild(el("p", { "class": "ccoc-acked" }, "✓ " + item.acknowledged_by + " · " + fmtTime(item.acknowledged_at)));
    }
    if (item.snapshots && item.snapshots.length) {
      var thumbs = el("div", { "class": "ccoc-thumbs" });
      item.snapshots.slice(-4).forEach(function (s) {
        if (canAct) {
          thumbs.appendChild(el("img", { src: s.thumb, alt: s.entity_id + " " + (L[s.phase] || s.phase),
            title: s.entity_id + " · " + (L[s.phase] || s.phase), loading: "lazy", "class": "phase-" + s.phase }));
        } else {
          thumbs.appendChild(el("span", { "class": "ccoc-thumb-hidden" }, L.thumb_hidden));
        }
      });
      card.appendChild(thumbs);
    }
    card.appendChild(pendingNode(item));
    if (canAct) { card.appendChild(actionButtons(item)); }
    return card;
  }

  /* Cards are rebuilt only when their incident changed (`changed`: its key, or "*" for all), so an
   * officer's focus and the pictures already loaded stay put while other incidents update. */
  function renderBoard(changed) {
    var board = document.getElementById("ccoc-board");
    if (!board) { return; }
    var list = Object.keys(items).map(function (k) { return items[k]; }).filter(visible);
    list.sort(function (a, b) {
      // Unacknowledged SOS first, then newest first.
      var sa = a.kind === "sos" && a.status === "open" ? 0 : 1;
      var sb = b.kind === "sos" && b.status === "open" ? 0 : 1;
      return sa - sb || b.opened_at - a.opened_at;
    });
    var existing = {};
    board.querySelectorAll("article.ccoc-card").forEach(function (n) { existing[n.getAttribute("data-key")] = n; });
    list.forEach(function (item) {
      var k = key(item);
      var node = existing[k];
      if (!node || changed === "*" || changed === k) {
        var fresh = buildCard(item);
        if (node) { node.replaceWith(fresh); }
        node = fresh;
      }
      delete existing[k];
      board.appendChild(node);  // moves it into sorted place without rebuilding it
    });
    Object.keys(existing).forEach(function (k) { existing[k].remove(); });
    var count = document.getElementById("ccoc-count");
    if (count) { count.textContent = String(list.length); }
    var empty = document.getElementById("ccoc-empty");
    if (empty) { empty.hidden = list.length > 0; }
  }

  function onIncident(data) {
    var item = data.incident;
    if (!item || !item.id) { return; }
    var page = document.body.getAttribute("data-ccoc");
    if (item.status === "closed") { delete items[key(item)]; } else { items[key(item)] = item; }
    if (page === "board") { renderBoard(key(item)); }
    if (page === "incident") {
      var box = document.getElementById("ccoc-incident");
      if (box && box.getAttribute("data-incident-id") === item.id && box.getAttribute("data-hub-id") === item.hub_id) {
        var status = document.getElementById("ccoc-incident-status");
        if (status) { status.setAttribute("data-status", item.status); status.className = "badge status-" + item.status; status.textContent = L["st." + item.status] || item.status; }
        var notice = document.getElementById("ccoc-incident-updated");
        if (notice) {
          notice.hidden = false;
          notice.querySelector("a").textContent = "↻ " + (item.acknowledged_by ? "✓ " + item.acknowledged_by : item.status);
        }
      }
    }
    syncAlarm();
  }

  function onCommand(data) {
    document.querySelectorAll('[data-command-state="' + data.id + '"], [data-command-id="' + data.id + '"]').forEach(function (n) {
      n.className = "badge cmd-" + data.state;
      var label = L[data.state] || data.state;
      n.textContent = n.hasAttribute("data-command-state") ? label : data.command.replace("incident.", "") + ": " + label;
    });
    var k = data.hub_id + "/" + data.incident_id;
    var item = items[k];
    // Only incident actions are shown on a card (audit copies and pictures are not the officer's queue).
    if (item && String(data.command).indexOf("incident.") === 0) {
      var pending = (item.pending || []).filter(function (p) { return p.id !== data.id; });
      if (data.state === "queued" || data.state === "sent") {
        pending.push({ id: data.id, command: data.command, state: data.state, actor: data.actor });
      }
      item.pending = pending;
      if (document.body.getAttribute("data-ccoc") === "board") { renderBoard(k); }
    }
  }

  function onHub(data) {
    document.querySelectorAll('[data-hub-status="' + data.hub_id + '"]').forEach(function (n) {
      n.className = "badge hub-" + data.status;
      n.textContent = L[data.status] || data.status;
    });
    Object.keys(items).forEach(function (k) {
      if (items[k].hub_id === data.hub_id) { items[k].hub_status = data.status; }
    });
  }

  function setLive(state) {
    var node = document.getElementById("ccoc-live");
    if (!node) { return; }
    node.setAttribute("data-state", state);
    node.textContent = state === "live" ? "● live" : L.disconnected;
  }

  function startStream() {
    if (!window.EventSource) { return; }
    var source = new EventSource("/api/stream");
    source.addEventListener("open", function () { setLive("live"); });
    source.addEventListener("error", function () { setLive("down"); });
    function on(type, fn) {
      source.addEventListener(type, function (event) {
        var msg = null;
        try { msg = JSON.parse(event.data); } catch (err) { msg = null; }
        if (msg && msg.data) { fn(msg.data); }
      });
    }
    on("ccoc_incident", onIncident);
    on("ccoc_command", onCommand);
    on("ccoc_hub", onHub);
    window.addEventListener("pagehide", function () { source.close(); });
  }

  // -- dialogs: incident actions and camera views -------------------------------------------

  var dialogSubmit = null;

  function openDialog(title, build, submit) {
    var dialog = document.getElementById("ccoc-dialog");
    document.getElementById("ccoc-dialog-title").textContent = title;
    var body = document.getElementById("ccoc-dialog-body");
    body.textContent = "";
    build(body);
    var result = document.getElementById("ccoc-dialog-result");
    result.textContent = "";
    result.className = "action-result";
    document.getElementById("ccoc-dialog-ok").hidden = false;
    dialogSubmit = submit;
    dialog.showModal();
    var first = body.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }

  function field(parent, label, input) {
    var wrap = el("label", { "class": "field" });
    wrap.appendChild(el("span", { "class": "field-label" }, label));
    wrap.appendChild(input);
    parent.appendChild(wrap);
    return input;
  }

  function dialogError(message) {
    var result = document.getElementById("ccoc-dialog-result");
    result.textContent = message;
    result.className = "action-result text-error";
  }

  function sendAction(hubId, incidentId, action, body) {
    return api("POST", "/api/ccoc/incidents/" + encodeURIComponent(hubId) + "/" +
      encodeURIComponent(incidentId) + "/" + action, body);
  }

  function onAction(button) {
    var box = button.closest("[data-incident-id]");
    var hubId = box.getAttribute("data-hub-id");
    var incidentId = box.getAttribute("data-incident-id");
    var action = button.getAttribute("data-action");
    if (action === "ack") {
      button.disabled = true;
      sendAction(hubId, incidentId, "ack", {}).then(function (record) {
        button.textContent = "✓ " + (L[record.state] || record.state);
        button.setAttribute("data-state", record.state);
      }).catch(function (err) {
        button.disabled = false;
        button.textContent = L.ack + " ✗ " + err.message;
      });
      return;
    }
    var inputs = {};
    openDialog(L[action], function (body) {
      if (action === "dispatch") {
        inputs.unit = field(body, L.unit_free, el("input", { name: "unit", list: "ccoc-units", required: "required", autocomplete: "off" }));
        var quick = el("div", { "class": "ccoc-unit-list" });
        units.forEach(function (u) {
          var b = el("button", { type: "button", "class": "btn btn-small btn-ghost" }, u);
          b.addEventListener("click", function () { inputs.unit.value = u; });
          quick.appendChild(b);
        });
        body.appendChild(quick);
      }
      inputs.text = field(body, L.note, el("textarea", { name: "text", rows: "3" }));
      if (action === "note") { inputs.text.setAttribute("required", "required"); }
    }, function () {
      var payload = { text: inputs.text.value };
      if (inputs.unit) { payload.unit = inputs.unit.value; }
      return sendAction(hubId, incidentId, action, payload);
    });
  }

  function showImages(body, view) {
    var old = body.querySelector(".ccoc-view-images");
    if (old) { old.remove(); }
    var box = el("div", { "class": "ccoc-view-images", "data-view-id": view.view_id });
    if (!view.images.length) { box.appendChild(el("p", { "class": "muted" }, L.no_pictures)); }
    view.images.forEach(function (img) {
      var fig = el("figure", { "class": "ccoc-thumb" });
      fig.appendChild(el("img", { src: img.url, alt: view.entity_id, "class": "ccoc-view-image" }));
      fig.appendChild(el("figcaption", {}, fmtTime(img.ts)));
      box.appendChild(fig);
    });
    box.appendChild(el("p", { "class": "muted ccoc-view-meta" },
      L.view_expires + " " + fmtTime(view.expires) + " · " + L.mirror + ": " + (L[view.mirror.state] || view.mirror.state)));
    if (view.live_page) {
      box.appendChild(el("a", { "class": "btn btn-primary ccoc-watch-live", href: view.live_page }, L.watch_live || "▶"));
    }
    body.appendChild(box);
  }

  function onView(button) {
    var hubId = button.getAttribute("data-hub-id");
    var entityId = button.getAttribute("data-entity-id");
    var incidentId = button.getAttribute("data-incident-id") || "";
    var inputs = {};
    openDialog((button.getAttribute("data-name") || entityId), function (body) {
      inputs.reason = field(body, L.reason,
        el("input", { name: "reason", required: "required", maxlength: "500", autocomplete: "off", id: "ccoc-view-reason" }));
      if (incidentId) { inputs.reason.value = ""; inputs.reason.setAttribute("placeholder", "incident " + incidentId); }
      inputs.fresh = el("input", { type: "checkbox", name: "fresh" });
      if (incidentId) {
        var check = el("label", { "class": "field-check" });
        check.appendChild(inputs.fresh);
        check.appendChild(el("span", {}, " " + L.fresh_picture));
        body.appendChild(check);
      }
    }, function () {
      var reason = inputs.reason.value.trim();
      if (!reason && !incidentId) { return Promise.reject(new Error(L.reason_required)); }
      if (!reason) { reason = "incident " + incidentId; }
      return api("POST", "/api/ccoc/views", {
        hub_id: hubId, entity_id: entityId, reason: reason, incident_id: incidentId || undefined,
        fresh: inputs.fresh.checked
      }).then(function (view) {
        showImages(document.getElementById("ccoc-dialog-body"), view);
        document.getElementById("ccoc-dialog-ok").hidden = true;
        return { keepOpen: true };
      });
    });
  }

  // -- the hub command panel ------------------------------------------------------------------

  function commandFieldset(form) {
    var command = form.querySelector("[name=command]").value;
    return form.querySelector('.command-fields[data-command="' + command + '"]');
  }

  function showCommandFields(form) {
    // Only the chosen command's fields are shown, sent and checked by the browser.
    var chosen = commandFieldset(form);
    form.querySelectorAll(".command-fields").forEach(function (set) {
      set.hidden = set !== chosen;
      set.disabled = set !== chosen;
    });
  }

  function onCommandForm(form) {
    var result = form.querySelector(".action-result");
    var command = form.querySelector("[name=command]").value;
    var set = commandFieldset(form);
    var body = { command: command };
    if (set && set.getAttribute("data-json") === "yes") {
      var data = set.querySelector("[name=data]").value.trim();
      try { body.data = data ? JSON.parse(data) : {}; } catch (err) {
        result.textContent = "JSON: " + err.message; result.className = "action-result text-error"; return;
      }
    } else {
      var fields = {};
      (set ? set.querySelectorAll("[name]") : []).forEach(function (input) {
        if (input.multiple) {
          fields[input.name] = Array.prototype.filter.call(input.options, function (o) { return o.selected; })
            .map(function (o) { return o.value; });
        } else {
          fields[input.name] = input.value;
        }
      });
      body.fields = fields;
    }
    api("POST", "/api/ccoc/hubs/" + encodeURIComponent(form.getAttribute("data-hub-id")) + "/commands", body
    ).then(function (record) {
      result.textContent = record.command + ": " + (L[record.state] || record.state);
      result.className = "action-result text-ok";
      var tbody = document.querySelector("#ccoc-commands tbody");
      if (tbody) {
        var row = el("tr", { "data-command-id-row": record.id });
        row.appendChild(el("td", {}, fmtTime(record.created_at)));
        row.appendChild(el("td", {}, record.command));
        row.appendChild(el("td", {}, record.actor_name || record.actor));
        var cell = el("td");
        cell.appendChild(el("span", { "class": "badge cmd-" + record.state, "data-command-state": record.id }, L[record.state] || record.state));
        row.appendChild(cell);
        tbody.insertBefore(row, tbody.firstChild);
      }
    }).catch(function (err) {
      result.textContent = err.message;
      result.className = "action-result text-error";
    });
  }

  // -- wiring -----------------------------------------------------------------------------------

  function init() {
    var body = document.body;
    csrf = body.getAttribute("data-csrf") || "";
    lang = body.getAttribute("data-lang") || "th";
    tz = body.getAttribute("data-tz") || tz;
    canAct = body.getAttribute("data-can-act") === "yes";
    try { L = JSON.parse(document.getElementById("ccoc-labels").textContent || "{}"); } catch (err) { L = {}; }
    var dataNode = document.getElementById("ccoc-board-data");
    if (dataNode) {
      try {
        var data = JSON.parse(dataNode.textContent || "{}");
        (data.items || []).forEach(function (i) { if (i) { items[key(i)] = i; } });
        units = data.units || [];
      } catch (err) { items = {}; }
    }
    var filterForm = document.getElementById("ccoc-filters");
    if (filterForm) {
      filterForm.querySelectorAll("select").forEach(function (select) {
        filters[select.name] = select.value;
        select.addEventListener("change", function () {
          filters[select.name] = select.value;
          var params = new URLSearchParams();
          Object.keys(filters).forEach(function (k) { if (filters[k]) { params.set(k, filters[k]); } });
          history.replaceState(null, "", "/ccoc" + (params.toString() ? "?" + params.toString() : ""));
          renderBoard("*");
        });
      });
    }
    renderBoard("*");
    syncAlarm();
    window.setInterval(function () {
      document.querySelectorAll(".ccoc-age[data-ts]").forEach(function (n) {
        n.textContent = age(parseFloat(n.getAttribute("data-ts")));
      });
    }, 1000);

    document.addEventListener("click", function (event) {
      var target = event.target instanceof Element ? event.target : null;
      if (!target) { return; }
      var act = target.closest("button.ccoc-act");
      if (act) { event.preventDefault(); onAction(act); return; }
      var view = target.closest("button.ccoc-view");
      if (view) { event.preventDefault(); onView(view); return; }
      if (target.closest("#ccoc-sound")) {
        if (audio && audio.state === "running") {
          audio.suspend();
          target.textContent = L.sound_on;
          target.setAttribute("data-on", "no");
        } else {
          enableSound();
        }
        return;
      }
      if (target.closest("#ccoc-dialog-cancel")) { document.getElementById("ccoc-dialog").close(); }
    });
    var dialogForm = document.getElementById("ccoc-dialog-form");
    if (dialogForm) {
      dialogForm.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!dialogSubmit) { return; }
        var ok = document.getElementById("ccoc-dialog-ok");
        ok.disabled = true;
        Promise.resolve().then(dialogSubmit).then(function (outcome) {
          ok.disabled = false;
          if (!(outcome && outcome.keepOpen)) { document.getElementById("ccoc-dialog").close(); }
        }).catch(function (err) {
          ok.disabled = false;
          dialogError(err.message);
        });
      });
    }
    var commandForm = document.getElementById("ccoc-command-form");
    if (commandForm) {
      commandForm.addEventListener("submit", function (event) { event.preventDefault(); onCommandForm(commandForm); });
      commandForm.querySelector("[name=command]").addEventListener("change", function () { showCommandFields(commandForm); });
      showCommandFields(commandForm);
    }
    // Browsers allow sound only after a gesture: any click on the page arms it.
    document.addEventListener("pointerdown", function arm() {
      enableSound();
      document.removeEventListener("pointerdown", arm);
    });
    startStream();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
