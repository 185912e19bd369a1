/* The CCOC live player: fragmented MP4 from the view's live_url into Media Source Extensions.
 *
 * Plain ES2017, no library.  The station answers live_url with an init segment
 * and then fragments from a keyframe (X-Content-Codecs names the codec), so
 * the bytes go straight into one SourceBuffer in "sequence" mode: when the
 * camera reconnects, a new init segment and new timestamps follow and play on.
 * The player stays near the live edge (it jumps forward when more than 2.5 s
 * behind) and drops what it has played.  The status (starting, live, camera
 * offline, ended, refused) is polled once a second and shown in words.
 */
(function () {
  "use strict";

  var root = document.getElementById("ccoc-live-player");
  if (!root) { return; }
  var video = document.getElementById("ccoc-live-video");
  var statusLine = document.getElementById("ccoc-live-state");
  var L = {};
  try { L = JSON.parse(document.getElementById("ccoc-labels").textContent); } catch (err) { L = {}; }
  var profile = root.getAttribute("data-profile") || "sub";
  var liveUrl = root.getAttribute("data-live-url") + "?profile=" + encodeURIComponent(profile);
  var statusUrl = root.getAttribute("data-status-url") + "?profile=" + encodeURIComponent(profile);
  var TERMINAL = { ended: 1, refused: 1, failed: 1, expired: 1 };
  var finished = false;
  var reader = null;
  var retryTimer = null;
  var serverState = "starting";

  function setState(state, text) {
    root.setAttribute("data-state", state);
    if (text) { statusLine.textContent = text; }
  }

  function say(status) {
    var text = status.text || L["live." + status.state] || status.state;
    if (status.reason_text && status.state !== "live") { text += " — " + status.reason_text; }
    return text;
  }

  function play() {
    if (finished) { return; }
    if (!window.MediaSource) { setState("failed", L["live.no_mse"]); finished = true; return; }
    fetch(liveUrl, { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
      if (!resp.ok) {
        return resp.json().catch(function () { return {}; }).then(function (body) {
          throw { status: resp.status, message: body.error || String(resp.status), code: body.code };
        });
      }
      var codecs = resp.headers.get("X-Content-Codecs") || "avc1.42e01e";
      var mime = 'video/mp4; codecs="' + codecs + '"';
      if (!MediaSource.isTypeSupported(mime)) {
        finished = true;
        setState("failed", L["live.codec"] + " (" + codecs + ")");
        return null;
      }
      return attach(resp, mime);
    }).catch(function (err) {
      // The station names why (a code); the page says it in the officer's language.
      var why = (err && err.code && L["why." + err.code]) || (err && err.message) || String(err);
      if (err && (err.status === 403 || err.status === 404 || err.status === 409)) {
        finished = true;
        setState(err.status === 403 ? "refused" : "failed", (L["live." + (err.status === 403 ? "refused" : "failed")] || "") + ": " + why);
        return;
      }
      setState("waiting", (L["live.failed"] || "") + ": " + why);
      retry();
    });
  }

  function retry() {
    if (finished || retryTimer) { return; }
    retryTimer = window.setTimeout(function () { retryTimer = null; play(); }, 1500);
  }

  function attach(resp, mime) {
    var media = new MediaSource();
    var chunks = [];
    var buffer = null;
    var old = video.getAttribute("src");
    video.src = URL.createObjectURL(media);
    if (old && old.indexOf("blob:") === 0) { URL.revokeObjectURL(old); }

    function feed() {
      if (!buffer || buffer.updating || !chunks.length || media.readyState !== "open") { return; }
      try {
        buffer.appendBuffer(chunks.shift());
      } catch (err) {
        if (err.name === "QuotaExceededError" && video.buffered.length) {
          buffer.remove(0, Math.max(0, video.currentTime - 2));
        } else { setState("failed", String(err)); }
      }
    }

    function keepLive() {
      if (!video.buffered.length) { return; }
      var start = video.buffered.start(0);
      var end = video.buffered.end(video.buffered.length - 1);
      if (video.currentTime < start || end - video.currentTime > 2.5) {
        video.currentTime = Math.max(start, end - 0.3);
      }
      if (video.currentTime - start > 30 && !buffer.updating) {
        buffer.remove(start, video.currentTime - 10);
      }
      if (video.paused) { video.play().catch(function () { /* autoplay waits for a gesture */ }); }
    }

    media.addEventListener("sourceopen", function () {
      buffer = media.addSourceBuffer(mime);
      buffer.mode = "sequence";
      buffer.addEventListener("updateend", function () { keepLive(); feed(); });
      reader = resp.body.getReader();
      (function pump() {
        reader.read().then(function (step) {
          if (step.done) {
            reader = null;
            if (!finished) { retry(); }
            return;
          }
          chunks.push(step.value);
          feed();
          pump();
        }).catch(function () { reader = null; if (!finished) { retry(); } });
      })();
    }, { once: true });
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (status) {
        if (!status) { return; }
        serverState = status.state;
        document.getElementById("ccoc-live-viewers").textContent = status.viewers === undefined ? "–" : String(status.viewers);
        document.getElementById("ccoc-live-kbps").textContent = status.kbps ? status.kbps + " kbit/s" : "–";
        if (TERMINAL[status.state] && status.state !== "ended") {
          finished = true;
          if (reader) { reader.cancel(); }
        }
        if (status.state === "live") {
          setState(video.currentTime > 0 ? "playing" : "live", say(status));
        } else if (status.state !== "idle") {
          setState(status.state, say(status));
        }
      })
      .catch(function () { /* next poll */ })
      .then(function () { if (!finished || serverState !== "expired") { window.setTimeout(poll, 1000); } });
  }

  video.addEventListener("timeupdate", function () {
    if (serverState === "live" && video.currentTime > 0) { root.setAttribute("data-state", "playing"); }
  });
  window.addEventListener("pagehide", function () { finished = true; if (reader) { reader.cancel(); } });
  play();
  poll();
})();
