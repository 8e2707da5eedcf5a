// Progressive enhancement only: every page works without this file.
// A form marked data-submit-once disables its submit buttons after the first submit, so an
// impatient double click sends one request (the server's idempotency key guards the rest).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches("form[data-submit-once]")) {
    return;
  }
  if (form.dataset.submitted === "true") {
    event.preventDefault();
    return;
  }
  form.dataset.submitted = "true";
  // Disable after the submit event, so the clicked button's name/value is still sent.
  window.setTimeout(function () {
    form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
      button.disabled = true;
      if (button.dataset.busyLabel) {
        button.textContent = button.dataset.busyLabel;
      }
    });
  }, 0);
});
