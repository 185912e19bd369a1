/* The owner's banner: "officer X is watching camera Y for reason Z", kept current every 2 s.
 * Plain ES2017, no libraries. The list comes from the hub itself (GET /api/federation/live). */
(function () {
  "use strict";

  var box = document.getElementById("camera-watchers");
  if (!box) { return; }
  var list = box.querySelector(".camera-watchers-list");
  var template = box.getAttribute("data-label-watching");
  var since = box.getAttribute("data-label-since");

  function renderUplinks(uplinks) {
    var line = box.querySelector(".camera-uplink");
    line.textContent = uplinks.map(function (u) {
      return box.getAttribute("data-label-uplink").replace("{kbps}", String(u.kbps))
        .replace("{profile}", box.getAttribute("data-label-" + u.profile) || u.profile);
    }).join(" · ");
  }

  function render(items) {
    list.textContent = "";
    items.forEach(function (w) {
      var li = document.createElement("li");
      li.className = "camera-watcher";
      li.setAttribute("data-officer", w.officer);
      li.textContent = template.replace("{officer}", w.officer).replace("{reason}", w.reason || "–") +
        " (" + since + " " + new Date(w.since * 1000).toLocaleTimeString() + ")";
      list.appendChild(li);
    });
    box.hidden = items.length === 0;
  }

  function poll() {
    fetch(box.getAttribute("data-src"), { credentials: "same-origin", cache: "no-store" })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (body) {
        if (body) { render(body.watching || []); renderUplinks(body.watching && body.watching.length ? body.uplinks || [] : []); }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  poll();
})();
