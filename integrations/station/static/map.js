/* The registry map on tiles (Leaflet, vendored): hubs by link health, cameras by the owner's policy.
 *
 * Plain ES2017.  Hub data only reaches the page as text (textContent), never
 * as HTML.  Clicking a camera that may be viewed asks for a reason and opens
 * the live player (POST /api/ccoc/views, then the view's live page).  When
 * Leaflet or the tiles are missing, the SVG drawing below stays as it is.
 */
(function () {
  "use strict";

  var box = document.getElementById("ccoc-leaflet");
  var dataNode = document.getElementById("ccoc-map-data");
  if (!box || !dataNode || !window.L || !window.L.map) { return; }
  var data = JSON.parse(dataNode.textContent);
  var words = {};
  try { words = JSON.parse(document.getElementById("ccoc-labels").textContent); } catch (err) { words = {}; }
  var csrf = document.body.getAttribute("data-csrf") || "";
  var canAct = document.body.getAttribute("data-can-act") === "yes";

  box.hidden = false;
  var svg = document.getElementById("ccoc-map-svg");
  if (svg) { svg.hidden = true; }
  var map = window.L.map(box, { zoomControl: true });
  window.L.tileLayer(data.tiles, { maxZoom: data.max_zoom, attribution: data.attribution || "" }).addTo(map);

  var bounds = [];
  data.shapes.forEach(function (shape) {
    var zone = shape.kind === "zone";
    window.L.polygon(shape.ring, {
      color: zone ? "#b91c1c" : "#1d4ed8", weight: zone ? 2.5 : 1.5, fillOpacity: zone ? 0.15 : 0.25,
      dashArray: zone ? null : "5 3"
    }).bindTooltip(shape.name).addTo(map);
    shape.ring.forEach(function (p) { bounds.push(p); });
  });

  data.hubs.forEach(function (h) {
    var marker = window.L.circleMarker([h.lat, h.lon], {
      radius: 9, color: "#ffffff", weight: 2, fillColor: h.colour, fillOpacity: 1, className: "map-hub map-hub-" + h.status
    }).addTo(map);
    marker.bindTooltip(h.name + " (" + h.status + ")");
    marker.on("click", function () { window.location.href = h.href; });
    bounds.push([h.lat, h.lon]);
  });

  function popup(cam) {
    var node = document.createElement("div");
    node.className = "ccoc-map-popup";
    var title = document.createElement("strong");
    title.textContent = cam.name;
    node.appendChild(title);
    var meta = document.createElement("p");
    meta.textContent = cam.hub_name + " · " + (words["policy." + cam.share] || cam.share);
    node.appendChild(meta);
    if (!cam.live || !canAct) { return node; }
    var form = document.createElement("form");
    form.className = "ccoc-map-live";
    var input = document.createElement("input");
    input.name = "reason";
    input.required = true;
    input.maxLength = 500;
    input.placeholder = words.reason || "reason";
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "btn btn-small btn-primary";
    button.textContent = words.watch_live || "▶";
    var result = document.createElement("p");
    result.className = "action-result";
    form.appendChild(input);
    form.appendChild(button);
    form.appendChild(result);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      fetch("/api/ccoc/views", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ hub_id: cam.hub_id, entity_id: cam.entity_id, reason: input.value.trim() })
      }).then(function (resp) {
        return resp.json().then(function (body) {
          if (!resp.ok) { throw new Error(body.error || String(resp.status)); }
          window.location.href = body.live_page;
        });
      }).catch(function (err) {
        button.disabled = false;
        result.textContent = err.message;
        result.className = "action-result text-error";
      });
    });
    node.appendChild(form);
    return node;
  }

  data.cameras.forEach(function (cam) {
    var marker = window.L.circleMarker([cam.lat, cam.lon], {
      radius: 7, color: "#ffffff", weight: 2, fillColor: cam.colour, fillOpacity: 1,
      className: "map-camera map-camera-" + cam.share
    }).addTo(map);
    marker.bindPopup(function () { return popup(cam); });
    marker.bindTooltip(cam.name);
    bounds.push([cam.lat, cam.lon]);
  });

  // ตู้แดง boxes: red when patrolled recently, hollow when not; the label is text, never HTML.
  (data.checkpoints || []).forEach(function (cp) {
    var icon = window.L.divIcon({ className: "map-checkpoint map-checkpoint-" + cp.state, iconSize: [14, 14] });
    var marker = window.L.marker([cp.lat, cp.lon], { icon: icon, keyboard: true, title: cp.label }).addTo(map);
    var tip = document.createElement("span");
    tip.textContent = cp.label;
    marker.bindTooltip(tip);
    marker.on("click", function () { window.location.href = "/ccoc/hubs/" + encodeURIComponent(cp.hub_id); });
    bounds.push([cp.lat, cp.lon]);
  });

  if (bounds.length) {
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: data.zoom });
  } else {
    map.setView([13.75, 100.5], 6);
  }
  box.setAttribute("data-ready", "yes");
})();
