/* The hub's local live view and recordings timeline (no libraries, no CDN).
 *
 * Live: GET /api/video/<camera>/live.mp4 streams fragmented MP4 (init, then
 * moof+mdat from a keyframe). Its bytes are appended to an MSE SourceBuffer in
 * "sequence" mode, so a camera reconnect (a new init segment, timestamps from
 * zero) or a dropped stretch (a slow phone) simply continues the timeline. The
 * player keeps itself near the live edge. Status (online / offline and why) is
 * polled every 2 s, so "camera offline" shows within the hub's offline_after.
 * Recordings: one day's segments drawn on a 24-hour bar; a click plays that
 * MP4 segment and the next ones in turn.
 */
(function () {
  "use strict";

  var STATUS_MS = 2000;
  var LIVE_EDGE_S = 1.5;

  function $(id) { return document.getElementById(id); }
  var strings = {};
  try { strings = JSON.parse(($("video-strings") || {}).textContent || "{}"); } catch (e) { strings = {}; }

  // -- status ------------------------------------------------------------------
  var live = $("video-live");
  function pollStatus() {
    var boxes = document.querySelectorAll("[data-status-url]");
    Array.prototype.forEach.call(boxes, function (box) {
      fetch(box.getAttribute("data-status-url"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (st) { if (st) { showStatus(box, st); } })
        .catch(function () { /* the next poll tries again */ });
    });
  }

  function showStatus(box, st) {
    var main = (st.streams || {}).main || {};
    var state = st.state || main.state || "idle";
    var badge = box.querySelector(".video-state");
    badge.setAttribute("data-state", state);
    badge.textContent = st.state_text || state;
    box.querySelector(".video-reason").textContent = st.text || "";
    var rate = "";
    if (state === "online" && main.fps) { rate = main.fps + " " + (strings.fps || "fps") + " · " + Math.round(main.bitrate_kbps || 0) + " kbit/s"; }
    if (st.disk_alarm) { rate += (rate ? " · " : "") + (strings.disk_alarm || "disk"); }
    var rateBox = box.querySelector(".video-rate");
    if (rateBox) { rateBox.textContent = rate; }
    var overlay = box.querySelector(".video-overlay");
    if (overlay && playing) {
      overlay.hidden = state === "online";
      overlay.textContent = st.text || "";
    }
  }

  // -- live (MSE) ----------------------------------------------------------------
  var playing = null;

  function codecOf(init) {
    // Find avcC in the init segment: "avc1." + profile, compatibility, level as hex.
    for (var i = 4; i + 8 < init.length; i++) {
      if (init[i] === 0x61 && init[i + 1] === 0x76 && init[i + 2] === 0x63 && init[i + 3] === 0x43) {
        var hex = function (b) { return ("0" + b.toString(16)).slice(-2); };
        return "avc1." + hex(init[i + 5]) + hex(init[i + 6]) + hex(init[i + 7]);
      }
    }
    return "avc1.42E01E";
  }

  function startLive() {
    var video = $("video-player");
    if (!window.MediaSource) { $("video-no-mse").hidden = false; return; }
    var controller = new AbortController();
    var ms = new MediaSource();
    var queue = [];
    var sb = null;
    var state = { controller: controller, video: video };
    playing = state;
    video.src = URL.createObjectURL(ms);  // the video page's CSP allows blob: media for this
    $("video-play").hidden = true;
    $("video-stop").hidden = false;

    function pump() {
      if (!sb || sb.updating || !queue.length) { return; }
      try {
        sb.appendBuffer(queue.shift());
      } catch (e) {
        // QuotaExceeded: drop what is behind the playhead and try again.
        if (video.currentTime > 10) { sb.remove(0, video.currentTime - 5); }
      }
    }
    function keepUp() {
      if (!sb || !sb.buffered.length) { return; }
      var end = sb.buffered.end(sb.buffered.length - 1);
      if (end - video.currentTime > LIVE_EDGE_S * 3) { video.currentTime = end - LIVE_EDGE_S / 2; }
      if (!sb.updating && video.currentTime > 30) { sb.remove(0, video.currentTime - 20); }
      if (video.paused) { video.play().catch(function () {}); }
    }

    ms.addEventListener("sourceopen", function () {
      fetch(live.getAttribute("data-live-url"), { credentials: "same-origin", signal: controller.signal })
        .then(function (resp) {
          if (!resp.ok) {
            return resp.json().then(function (j) { throw new Error(j.message || j.error || String(resp.status)); });
          }
          var reader = resp.body.getReader();
          function read() {
            return reader.read().then(function (r) {
              if (r.done) { throw new Error("end"); }
              var chunk = r.value;
              if (!sb) {
                sb = ms.addSourceBuffer('video/mp4; codecs="' + codecOf(chunk) + '"');
                sb.mode = "sequence";
                sb.addEventListener("updateend", function () { keepUp(); pump(); });
              }
              queue.push(chunk);
              pump();
              return read();
            });
          }
          return read();
        })
        .catch(function (err) {
          if (playing !== state) { return; }
          var overlay = live.querySelector(".video-overlay");
          overlay.hidden = false;
          if (err && err.message && err.message !== "end" && err.name !== "AbortError") { overlay.textContent = err.message; }
          // Try again: the hub restarts the camera's stream by itself.
          setTimeout(function () { if (playing === state) { stopLive(); startLive(); } }, 3000);
        });
    });
  }

  function stopLive() {
    if (!playing) { return; }
    playing.controller.abort();
    playing.video.removeAttribute("src");
    playing.video.load();
    playing = null;
    $("video-play").hidden = false;
    $("video-stop").hidden = true;
  }

  // -- recordings ----------------------------------------------------------------------
  var rec = $("video-recordings");
  var dayStart = null;
  var segments = [];

  function startOfDay(d) { var x = new Date(d); x.setHours(0, 0, 0, 0); return x.getTime() / 1000; }
  function hhmmss(ts) { return new Date(ts * 1000).toLocaleTimeString(document.documentElement.lang === "th" ? "th-TH" : "en-GB"); }

  function playFrom(index) {
    var player = $("video-playback");
    if (index >= segments.length) { return; }
    player.hidden = false;
    player.src = "/api/video/segments/" + segments[index].id + ".mp4";
    player.onended = function () { playFrom(index + 1); };
    player.play().catch(function () {});
  }

  function loadDay() {
    if (!rec) { return; }
    var end = dayStart + 86400;
    $("video-day-label").textContent = new Date(dayStart * 1000).toLocaleDateString(document.documentElement.lang === "th" ? "th-TH" : "en-GB");
    fetch(rec.getAttribute("data-recordings-url") + "?start=" + dayStart + "&end=" + end, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { segments: [] }; })
      .then(function (data) {
        segments = data.segments || [];
        var bar = $("video-timeline");
        var list = $("video-list");
        bar.textContent = "";
        list.textContent = "";
        $("video-empty").hidden = segments.length > 0;
        segments.forEach(function (s, i) {
          var b = document.createElement("button");
          b.type = "button";
          b.className = s.locked ? "locked" : "";
          b.style.left = (100 * (s.start - dayStart) / 86400) + "%";
          b.style.width = Math.max(0.1, 100 * (s.end - s.start) / 86400) + "%";
          b.title = hhmmss(s.start);
          b.addEventListener("click", function () { playFrom(i); });
          bar.appendChild(b);
          if (i >= 200) { return; }
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = "/api/video/segments/" + s.id + ".mp4";
          a.textContent = hhmmss(s.start) + " – " + hhmmss(s.end) + (s.locked ? " · " + (strings.locked || "locked") : "");
          a.addEventListener("click", function (ev) { ev.preventDefault(); playFrom(i); });
          li.appendChild(a);
          list.appendChild(li);
        });
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-status-url]")) {
      pollStatus();
      setInterval(pollStatus, STATUS_MS);
    }
    if (live) {
      if ($("video-play")) {
        $("video-play").addEventListener("click", startLive);
        $("video-stop").addEventListener("click", stopLive);
      }
    }
    if (rec) {
      dayStart = startOfDay(Date.now());
      $("video-prev").addEventListener("click", function () { dayStart -= 86400; loadDay(); });
      $("video-next").addEventListener("click", function () { dayStart += 86400; loadDay(); });
      loadDay();
    }
  });
})();
