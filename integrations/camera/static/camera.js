/* Camera wall and camera page: keep the images fresh.
 *
 * Every 10 s each shown camera image is fetched again; a new stored snapshot
 * (state_changed with a new last_snapshot_id) refreshes its tile at once. A
 * tile refused by the share policy is re-checked by reloading the page when an
 * incident opens or closes, because only the hub can decide what is shared.
 * Plain ES2017, no libraries (see web/static/app.js for the house rules).
 */
(function () {
  "use strict";

  var REFRESH_MS = 10000;
  var lastSnapshot = {};
  var loadedAt = Date.now();

  function tiles() {
    return Array.prototype.slice.call(document.querySelectorAll(".camera-tile[data-entity-id]"));
  }

  function refresh(tile) {
    var img = tile.querySelector("img.camera-image[data-src]");
    if (!img || tile.getAttribute("data-busy") === "1") { return; }
    tile.setAttribute("data-busy", "1");
    fetch(img.getAttribute("data-src"), { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
      if (resp.status === 403 && Date.now() - loadedAt > 5000) {
        // The sharing window closed: let the hub render the reason.
        window.location.reload();
        return null;
      }
      if (!resp.ok) { throw new Error(String(resp.status)); }
      var stale = resp.headers.get("X-Camera-Stale") === "1";
      return resp.blob().then(function (blob) {
        var old = img.getAttribute("src");
        img.setAttribute("src", URL.createObjectURL(blob));
        if (old && old.indexOf("blob:") === 0) { URL.revokeObjectURL(old); }
        var note = tile.querySelector(".camera-stale");
        if (note) { note.hidden = !stale; }
      });
    }).catch(function () {
      var note = tile.querySelector(".camera-stale");
      if (note) { note.hidden = false; }
    }).then(function () {
      tile.removeAttribute("data-busy");
    });
  }

  function byEntity(entityId) {
    return tiles().filter(function (tile) { return tile.getAttribute("data-entity-id") === entityId; });
  }

  function onState(msg) {
    var data = msg && msg.data;
    if (!data || !data.entity_id || data.entity_id.indexOf("camera.") !== 0 || !data.new_state) { return; }
    var snap = (data.new_state.attributes || {}).last_snapshot_id;
    if (snap && lastSnapshot[data.entity_id] !== snap) {
      lastSnapshot[data.entity_id] = snap;
      byEntity(data.entity_id).forEach(refresh);
    }
  }

  function onIncident() {
    var refused = document.querySelector(".camera-tile[data-shared='no']");
    if (refused) { window.location.reload(); }
  }

  function parse(event) {
    try { return JSON.parse(event.data); } catch (err) { return null; }
  }

  function init() {
    if (!tiles().length) { return; }
    window.setInterval(function () {
      if (document.hidden) { return; }
      tiles().forEach(refresh);
    }, REFRESH_MS);
    if (!window.EventSource) { return; }
    var source = new EventSource("/api/stream");
    source.addEventListener("state_changed", function (event) { onState(parse(event)); });
    source.addEventListener("incident_opened", onIncident);
    source.addEventListener("incident_updated", function (event) {
      var msg = parse(event);
      if (msg && msg.data && msg.data.incident && msg.data.incident.status === "closed") { onIncident(); }
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
