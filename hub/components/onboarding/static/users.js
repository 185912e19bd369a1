/* The Users page's actions: change role, disable/enable, reset password, delete.
 *
 * Each calls the admin JSON API (audited there); the last admin is refused by the
 * hub (409) and the page says so in the admin's language.  Plain ES2017.
 */
(function () {
  "use strict";

  function start() {
    var card = document.getElementById("users-card");
    if (!card) { return; }
    var result = document.getElementById("users-result");
    var csrf = document.body.getAttribute("data-csrf") || "";

    function say(message, isError) {
      result.textContent = message;
      result.className = "action-result alert " + (isError ? "alert-error" : "alert-ok");
    }

    function explain(status) {
      if (status === 409) { return card.getAttribute("data-msg-last-admin"); }
      if (status === 404) { return card.getAttribute("data-msg-not-found"); }
      if (status === 400) { return card.getAttribute("data-msg-short"); }
      return card.getAttribute("data-msg-failed");
    }

    function call(method, url, body) {
      return fetch(url, {
        method: method,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: body === undefined ? undefined : JSON.stringify(body)
      }).then(function (response) {
        if (!response.ok) { throw response.status; }
        return response.json();
      });
    }

    function failed(status) { say(explain(typeof status === "number" ? status : 0), true); }

    Array.prototype.forEach.call(card.querySelectorAll("tr.user-row"), function (row) {
      var id = row.getAttribute("data-user-id");
      var url = "/api/users/" + encodeURIComponent(id);
      var role = row.querySelector(".user-role");
      var previous = role.value;
      role.addEventListener("change", function () {
        call("PATCH", url, { role: role.value }).then(function () {
          previous = role.value;
          say(card.getAttribute("data-msg-done"), false);
        }).catch(function (status) { role.value = previous; failed(status); });
      });
      function toggle(button, disabled) {
        if (!button) { return; }
        button.addEventListener("click", function () {
          var question = button.getAttribute("data-confirm");
          if (question && !window.confirm(question)) { return; }
          call("PATCH", url, { disabled: disabled }).then(function () { window.location.reload(); }).catch(failed);
        });
      }
      toggle(row.querySelector(".user-disable"), true);
      toggle(row.querySelector(".user-enable"), false);
      var remove = row.querySelector(".user-delete");
      remove.addEventListener("click", function () {
        if (!window.confirm(remove.getAttribute("data-confirm"))) { return; }
        call("DELETE", url).then(function () {
          row.parentNode.removeChild(row);
          say(card.getAttribute("data-msg-done"), false);
        }).catch(failed);
      });
      var reset = row.querySelector(".user-password");
      reset.addEventListener("click", function () {
        if (row.querySelector(".password-form")) { return; }
        var form = document.createElement("form");
        form.className = "password-form user-actions";
        var input = document.createElement("input");
        input.type = "password";
        input.autocomplete = "new-password";
        input.minLength = 8;
        input.required = true;
        input.setAttribute("aria-label", reset.getAttribute("data-prompt"));
        input.placeholder = reset.getAttribute("data-prompt");
        var ok = document.createElement("button");
        ok.type = "submit";
        ok.className = "btn btn-small btn-primary";
        ok.textContent = reset.textContent;
        form.appendChild(input);
        form.appendChild(ok);
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          call("POST", url + "/password", { password: input.value }).then(function () {
            form.parentNode.removeChild(form);
            say(card.getAttribute("data-msg-done"), false);
          }).catch(failed);
        });
        reset.parentNode.appendChild(form);
        input.focus();
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
