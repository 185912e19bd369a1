/* SafetyHub core UI: live updates and the buttons that call the JSON API.
 *
 * Plain ES2017, no libraries and no build step: the hub runs offline on a
 * small box, and the page must keep working on an old phone.
 *
 * Safety rule for this file: data from the hub (names, titles, places) only
 * ever reaches the page through textContent or setAttribute, never
 * innerHTML, so a device or a LINE tip named "<img onerror=...>" stays text.
 */
(function () {
  "use strict";

  var strings = {};
  var csrf = "";
  var lang = "th";
  var tz = "Asia/Bangkok";

  function t(key, fmt) {
    var text = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
    if (fmt) {
      Object.keys(fmt).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(fmt[name]));
      });
    }
    return text;
  }

  /* t() that falls back to the raw value when no translation exists. */
  function label(prefix, value) {
    var key = prefix + value;
    var text = t(key);
    return text === key ? String(value) : text;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function formatTime(ts) {
    try {
      return new Intl.DateTimeFormat(lang === "th" ? "th-TH" : "en-GB", {
        timeZone: tz, day: "numeric", month: "short", year: "numeric",
        hour: "2-digit", minute: "2-digit", hour12: false
      }).format(new Date(ts * 1000));
    } catch (err) {
      // An unknown time zone name must not stop the row from appearing.
      return new Date(ts * 1000).toLocaleString();
    }
  }

  function byAttr(name, value) {
    var escaped = window.CSS && CSS.escape ? CSS.escape(value) : String(value).replace(/["\\]/g, "\\$&");
    return "[" + name + '="' + escaped + '"]';
  }

  // -- calling the API --------------------------------------------------------

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (err) { data = null; }
        if (!response.ok) {
          // The API answers in English (it is an API); a Thai page says what happened in Thai
          // and keeps the server's words for English readers.
          var message = data && data.error ? data.error : response.status + " " + response.statusText;
          if (lang !== "en") {
            var key = "action.http_" + response.status;
            message = t(key) === key ? t("action.http_other") : t(key);
          }
          throw new Error(message);
        }
        return data;
      });
    });
  }

  function showResult(node, message, isError) {
    if (!node) { return; }
    node.textContent = message;
    node.classList.toggle("text-error", !!isError);
    node.classList.toggle("text-ok", !isError);
  }

  function resultNodeFor(element) {
    var form = element.closest("form");
    var inForm = form && form.querySelector(".action-result");
    if (inForm) { return inForm; }
    var section = element.closest("section");
    return section ? section.querySelector(".action-result") : null;
  }

  function onSosPress(button) {
    var entityId = button.getAttribute("data-entity-id");
    // A test press is a drill (DESIGN §13), but it still runs the real path: never by a stray tap.
    var name = button.getAttribute("data-name") || entityId;
    if (!window.confirm(t("sos.press_confirm", { name: name }))) { return; }
    var result = document.getElementById("sos-result") || resultNodeFor(button);
    var original = button.textContent;
    button.disabled = true;
    button.textContent = t("action.working");
    showResult(result, t("action.working"), false);
    postJson("/api/services/sos/press", { entity_id: entityId }).then(function () {
      // Said on the button itself too: on a phone the status line may be off screen.
      button.textContent = "\u2713 " + t("sos.sent");
      showResult(result, t("sos.sent") + ": " + entityId, false);
    }).catch(function (err) {
      button.textContent = original;
      showResult(result, t("action.failed", { error: err.message }), true);
    }).then(function () {
      window.setTimeout(function () {
        button.textContent = original;
        button.disabled = false;
      }, 2000);
    });
  }

  function formToObject(form) {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") {
        out[name] = value;
      }
    });
    return out;
  }

  function onJsonForm(form) {
    var url = form.getAttribute("data-api");
    var buttons = form.querySelectorAll("button");
    var result = resultNodeFor(form);
    var body = formToObject(form);
    buttons.forEach(function (b) { b.disabled = true; });
    showResult(result, t("action.working"), false);
    postJson(url, body).then(function () {
      // Reload so the page shows the server's view (timeline, user list),
      // not a guess assembled here.
      window.location.reload();
    }).catch(function (err) {
      showResult(result, t("action.failed", { error: err.message }), true);
      buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  // -- live updates -------------------------------------------------------------

  function setState(entityId, state) {
    var cells = document.querySelectorAll(byAttr("data-entity-id", entityId) + " [data-state]");
    cells.forEach(function (cell) {
      // People read the translation; the raw state stays in data-state.
      cell.textContent = label("state.", state);
      cell.setAttribute("data-state", state);
      cell.className = cell.className.replace(/\bstate-\S+/g, "").trim() + " state-" + state;
    });
  }

  function headerLabels(tbody) {
    var table = tbody.closest("table");
    var ths = table ? table.querySelectorAll("thead th") : [];
    return Array.prototype.map.call(ths, function (th) { return th.textContent.trim(); });
  }

  function statusBadge(status) {
    return el("span", { "class": "badge status-" + status, "data-status": status }, label("status.", status));
  }

  function buildIncidentRow(inc, labels) {
    var row = el("tr", {
      "class": "incident-row kind-" + inc.kind + " status-row-" + inc.status,
      "data-incident-id": inc.id,
      "data-status": inc.status
    });
    var when = el("td", { "data-label": labels[0] || "", "class": "nowrap" }, formatTime(inc.opened_at));
    var title = el("td", { "data-label": labels[1] || "", "class": "incident-title" });
    title.appendChild(el("a", { href: "/incidents/" + encodeURIComponent(inc.id) }, inc.title));
    if (inc.drill) {
      title.appendChild(document.createTextNode(" "));
      title.appendChild(el("span", { "class": "badge badge-drill", "data-drill": "1" }, t("incident.drill")));
    }
    if (inc.place) {
      title.appendChild(document.createTextNode(" "));
      title.appendChild(el("span", { "class": "muted incident-place" }, inc.place));
    }
    var kind = el("td", { "data-label": labels[2] || "" });
    kind.appendChild(el("span", { "class": "kind kind-" + inc.kind }, label("kind.", inc.kind)));
    var severity = el("td", { "data-label": labels[3] || "" });
    severity.appendChild(el("span", { "class": "severity severity-" + inc.severity }, label("severity.", inc.severity)));
    var status = el("td", { "data-label": labels[4] || "", "class": "incident-status" });
    status.appendChild(statusBadge(inc.status));
    [when, title, kind, severity, status].forEach(function (td) { row.appendChild(td); });
    return row;
  }

  /* Does a list filtered by `filter` ("" all, "active", or one status) show `status`? */
  function filterAccepts(filter, status) {
    if (!filter) { return true; }
    if (filter === "active") { return status !== "closed"; }
    return filter === status;
  }

  function syncEmpty(tbody) {
    var empty = tbody.querySelector(".empty-row");
    if (empty) {
      empty.hidden = tbody.querySelector(".incident-row") !== null;
    }
  }

  function incidentLists() {
    return ["open-incidents", "incident-list"].map(function (id) {
      return document.getElementById(id);
    }).filter(Boolean);
  }

  function onIncident(inc, isNew) {
    if (!inc || !inc.id) { return; }
    incidentLists().forEach(function (tbody) {
      var filter = tbody.getAttribute("data-filter") || "";
      var existing = tbody.querySelector(byAttr("data-incident-id", inc.id));
      var wanted = filterAccepts(filter, inc.status);
      if (existing && !wanted) {
        existing.remove();
      } else if (existing) {
        existing.replaceWith(buildIncidentRow(inc, headerLabels(tbody)));
      } else if (wanted && isNew) {
        tbody.insertBefore(buildIncidentRow(inc, headerLabels(tbody)), tbody.firstChild);
      }
      syncEmpty(tbody);
    });
    var current = document.body.getAttribute("data-incident-id");
    if (current && current === inc.id && !isNew) {
      var notice = document.getElementById("incident-updated");
      if (notice) { notice.hidden = false; }
    }
    if (isNew && inc.kind === "sos") {
      showSosBanner(inc);
    }
  }

  function showSosBanner(inc) {
    var banner = document.getElementById("sos-banner");
    if (!banner) { return; }
    // A drill says so first: nobody may take a test for a real alarm (DESIGN §13).
    banner.querySelector(".sos-banner-text").textContent =
      [inc.drill ? t("incident.drill") : "", inc.title, inc.place].filter(Boolean).join(" · ");
    banner.querySelector(".sos-banner-link").setAttribute("href", "/incidents/" + encodeURIComponent(inc.id));
    banner.hidden = false;
    if (navigator.vibrate) {
      // A phone in a pocket at a market stall: a buzz is noticed before a screen.
      try { navigator.vibrate([300, 150, 300]); } catch (err) { /* not allowed without a gesture */ }
    }
  }

  function parse(event) {
    try { return JSON.parse(event.data); } catch (err) { return null; }
  }

  function setLive(connected) {
    var status = document.getElementById("live-status");
    if (!status) { return; }
    status.hidden = connected;
    status.textContent = connected ? t("live.connected") : t("live.disconnected");
  }

  function startStream() {
    if (!window.EventSource) { return; }
    var source = new EventSource("/api/stream");
    source.addEventListener("open", function () { setLive(true); });
    source.addEventListener("error", function () { setLive(false); });
    source.addEventListener("state_changed", function (event) {
      var msg = parse(event);
      if (msg && msg.data && msg.data.new_state) {
        setState(msg.data.entity_id, msg.data.new_state.state);
      }
    });
    source.addEventListener("incident_opened", function (event) {
      var msg = parse(event);
      if (msg && msg.data) { onIncident(msg.data.incident, true); }
    });
    source.addEventListener("incident_updated", function (event) {
      var msg = parse(event);
      if (msg && msg.data) { onIncident(msg.data.incident, false); }
    });
    // Close before navigating away so the hub frees the stream at once.
    window.addEventListener("pagehide", function () { source.close(); });
  }

  // -- wiring ---------------------------------------------------------------------

  function init() {
    var body = document.body;
    csrf = body.getAttribute("data-csrf") || "";
    lang = body.getAttribute("data-lang") || "th";
    tz = body.getAttribute("data-tz") || tz;
    var stringsNode = document.getElementById("i18n-strings");
    if (stringsNode) {
      try { strings = JSON.parse(stringsNode.textContent || "{}"); } catch (err) { strings = {}; }
    }

    document.addEventListener("click", function (event) {
      var target = event.target instanceof Element ? event.target : null;
      if (!target) { return; }
      var sos = target.closest("button.sos-press");
      if (sos) {
        event.preventDefault();
        onSosPress(sos);
        return;
      }
      if (target.closest(".sos-banner-close")) {
        document.getElementById("sos-banner").hidden = true;
      }
    });

    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (form instanceof HTMLFormElement && form.hasAttribute("data-api")) {
        event.preventDefault();
        var question = form.getAttribute("data-confirm");
        if (question && !window.confirm(question)) { return; }
        onJsonForm(form);
      } else if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")) {
        // A plain form (delete): posted by the browser itself once confirmed.
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      }
    });

    // The automation editor: changing a row's type re-draws the form with that type's
    // fields (the form posts to itself; without script the "change type" button does it).
    document.addEventListener("change", function (event) {
      var select = event.target;
      if (!(select instanceof HTMLSelectElement) || !select.hasAttribute("data-autosubmit")) { return; }
      var form = select.form;
      var button = form && form.querySelector('button[name="op"][value="' + select.getAttribute("data-autosubmit") + '"]');
      if (button) { form.requestSubmit(button); }
    });
    document.querySelectorAll(".js-hide").forEach(function (node) { node.hidden = true; });

    if (document.querySelector("[data-live]")) {
      startStream();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
