/* The setup wizard: three steps, one save, then "what do you have?".
 *
 * Plain ES2017, no build.  Messages come from data-* attributes (translated on
 * the server); data from the hub only reaches the page through textContent.
 * The map is Leaflet over offline tiles when the hub has them, otherwise an SVG
 * coordinate grid: either way a tap sets the pin and the two number fields,
 * which stay the source of truth.
 */
(function () {
  "use strict";

  var DEFAULT = [13.7563, 100.5018]; // Bangkok, until the admin pins their site
  var CELL = 0.001; // about 100 m: one square of the offline grid
  var CELLS = 10;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function start() {
    var box = $("#wizard");
    if (!box) { return; }
    var form = $("#wizard-form", box);
    var steps = $all("fieldset.wizard-step", form);
    var done = $("#wizard-have", box);
    var back = $("#wizard-back", box);
    var next = $("#wizard-next", box);
    var save = $("#wizard-save", box);
    var result = $("#wizard-result", box);
    var latInput = form.elements.lat;
    var lonInput = form.elements.lon;
    var current = 0;
    box.classList.add("js-wizard");

    function show(index) {
      current = index;
      steps.forEach(function (step, i) { step.hidden = i !== index; });
      done.hidden = true;
      back.hidden = index === 0;
      next.hidden = index === steps.length - 1;
      save.hidden = index !== steps.length - 1;
      if (index === 1) { map.refresh(); }
      var first = steps[index].querySelector("input, select");
      if (first && document.activeElement !== first) { first.focus({ preventScroll: true }); }
    }

    function say(message, isError, details) {
      result.textContent = "";
      result.className = "action-result " + (isError ? "alert alert-error" : "alert alert-ok");
      result.appendChild(document.createTextNode(message));
      if (details && details.length) {
        var list = document.createElement("ul");
        list.className = "problems";
        list.setAttribute("translate", "no"); // check's own file:line text, for the installer
        details.forEach(function (line) {
          var item = document.createElement("li");
          var code = document.createElement("code");
          code.textContent = line;
          item.appendChild(code);
          list.appendChild(item);
        });
        result.appendChild(list);
      }
    }

    function pin() {
      var lat = parseFloat(latInput.value);
      var lon = parseFloat(lonInput.value);
      return isFinite(lat) && isFinite(lon) ? [lat, lon] : null;
    }

    function setPin(lat, lon) {
      latInput.value = lat.toFixed(6);
      lonInput.value = lon.toFixed(6);
      map.refresh();
    }

    var map = makeMap($("#wizard-map", box), box.getAttribute("data-tiles") === "1", pin, setPin);
    latInput.addEventListener("change", function () { map.refresh(true); });
    lonInput.addEventListener("change", function () { map.refresh(true); });

    $("#locate", box).addEventListener("click", function () {
      if (!navigator.geolocation) { say(box.getAttribute("data-msg-locate-failed"), true); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        setPin(pos.coords.latitude, pos.coords.longitude);
        map.refresh(true);
      }, function () { say(box.getAttribute("data-msg-locate-failed"), true); }, { timeout: 10000 });
    });

    back.addEventListener("click", function () { if (current > 0) { show(current - 1); } });
    next.addEventListener("click", function () {
      if (current === 0 && !form.elements.name.value.trim()) {
        form.elements.name.reportValidity();
        return;
      }
      if (current < steps.length - 1) { show(current + 1); }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (save.disabled) { return; }
      var language = form.querySelector("input[name=language]:checked");
      var body = {
        name: form.elements.name.value,
        zone: form.elements.zone.value,
        lat: latInput.value,
        lon: lonInput.value,
        language: language ? language.value : "th",
        timezone: form.elements.timezone.value,
        etag: box.getAttribute("data-etag") || ""
      };
      save.disabled = true;
      say(box.getAttribute("data-msg-saving"), false);
      fetch("/api/setup/hub", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": document.body.getAttribute("data-csrf") || "" },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) {
            say(data.error || box.getAttribute("data-msg-network"), true, data.errors);
            if (data.fields && data.fields.name) { show(0); }
            else if (data.fields && data.fields.location) { show(1); }
            return;
          }
          box.setAttribute("data-etag", data.etag || "");
          say(box.getAttribute(data.restart_needed ? "data-msg-restart" : "data-msg-saved"), false);
          form.hidden = true;
          done.hidden = false;
          var link = done.querySelector("a");
          if (link) { link.focus(); }
        });
      }).catch(function () {
        say(box.getAttribute("data-msg-network"), true);
      }).then(function () { save.disabled = false; });
    });

    show(0);
  }

  /* Leaflet over /setup/tiles, or an SVG grid of ~100 m squares around the pin. */
  function makeMap(node, tiles, getPin, setPin) {
    if (tiles && window.L) {
      var L = window.L;
      var start = getPin() || DEFAULT;
      var leaflet = L.map(node).setView(start, getPin() ? 16 : 6);
      L.tileLayer("/setup/tiles/{z}/{x}/{y}.png", { maxZoom: 19 }).addTo(leaflet);
      var marker = L.marker(start, { draggable: true }).addTo(leaflet);
      leaflet.on("click", function (e) { setPin(e.latlng.lat, e.latlng.lng); });
      marker.on("dragend", function () { var p = marker.getLatLng(); setPin(p.lat, p.lng); });
      return {
        refresh: function (recentre) {
          leaflet.invalidateSize();
          var p = getPin();
          if (p) { marker.setLatLng(p); if (recentre) { leaflet.setView(p); } }
        }
      };
    }
    var NS = "http://www.w3.org/2000/svg";
    var centre = getPin() || DEFAULT;
    // One <svg> for the page's life: redrawing only its contents keeps a tap that
    // starts as a field's change event redraws the grid a single click on the svg.
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.addEventListener("click", function (e) {
      var rect = svg.getBoundingClientRect();
      var fx = (e.clientX - rect.left) / rect.width * 100;
      var fy = (e.clientY - rect.top) / rect.height * 100;
      setPin(centre[0] - (fy - 50) / (100 / CELLS) * CELL, centre[1] + (fx - 50) / (100 / CELLS) * CELL);
    });
    node.textContent = "";
    node.appendChild(svg);
    var drawn = "";
    function draw() {
      // Redraw only when the picture changes: a field's change event on blur (when the
      // admin taps the map) must not replace the element under the finger mid-tap.
      var key = JSON.stringify([centre, getPin()]);
      if (key === drawn) { return; }
      drawn = key;
      svg.textContent = "";
      for (var i = 0; i <= CELLS; i++) {
        var v = i * (100 / CELLS);
        [["x1", v, "y1", 0, "x2", v, "y2", 100], ["x1", 0, "y1", v, "x2", 100, "y2", v]].forEach(function (a) {
          var line = document.createElementNS(NS, "line");
          for (var k = 0; k < a.length; k += 2) { line.setAttribute(a[k], a[k + 1]); }
          line.setAttribute("stroke", i === CELLS / 2 ? "#94a3b8" : "#e2e8f0");
          line.setAttribute("stroke-width", "0.4");
          svg.appendChild(line);
        });
      }
      var p = getPin();
      if (p) {
        var dot = document.createElementNS(NS, "circle");
        dot.setAttribute("cx", 50 + (p[1] - centre[1]) / CELL * (100 / CELLS));
        dot.setAttribute("cy", 50 - (p[0] - centre[0]) / CELL * (100 / CELLS));
        dot.setAttribute("r", "2.5");
        dot.setAttribute("fill", "#b91c1c");
        dot.setAttribute("id", "wizard-pin");
        svg.appendChild(dot);
      }
    }
    return {
      refresh: function (recentre) {
        if (recentre && getPin()) { centre = getPin(); }
        draw();
      }
    };
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
