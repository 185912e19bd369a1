// LINE page: the registration-code form shows the code it gets back (shown once,
// so the page must not reload as the core's json-form does).
(function () {
  "use strict";
  function init() {
    var csrf = document.body.getAttribute("data-csrf") || "";
    document.querySelectorAll("form[data-line-code]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = {};
        new FormData(form).forEach(function (value, name) { if (typeof value === "string") { body[name] = value; } });
        var result = form.querySelector(".action-result");
        var shown = form.querySelector(".line-code");
        fetch(form.getAttribute("data-line-code"), {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify(body)
        }).then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        }).then(function (answer) {
          if (!answer.ok) { throw new Error(answer.data && answer.data.error ? answer.data.error : "error"); }
          form.querySelector(".line-code-value").textContent = answer.data.code;
          shown.hidden = false;
          if (result) { result.textContent = ""; }
        }).catch(function (err) {
          if (result) { result.textContent = err.message; result.classList.add("text-error"); }
        });
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
