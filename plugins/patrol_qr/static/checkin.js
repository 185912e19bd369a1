/* patrol_qr check-in: ask the phone for its position when "check in" is pressed.
 *
 * Optional by design: a refusal, a timeout or no GPS still submits the form
 * (without a position), so a patrol is never lost to a permissions prompt.
 */
(function () {
  "use strict";
  var form = document.getElementById("checkin-form");
  if (!form || !navigator.geolocation) { return; }
  var asked = false;
  form.addEventListener("submit", function (event) {
    if (asked) { return; }
    event.preventDefault();
    asked = true;
    var button = form.querySelector("[type=submit]");
    if (button) { button.disabled = true; }
    var done = false;
    function send() {
      if (done) { return; }
      done = true;
      form.submit();
    }
    setTimeout(send, 8000);
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.lat.value = String(pos.coords.latitude);
      form.elements.lon.value = String(pos.coords.longitude);
      form.elements.accuracy.value = String(Math.round(pos.coords.accuracy));
      send();
    }, send, { enableHighAccuracy: true, timeout: 7000, maximumAge: 60000 });
  });
}());
