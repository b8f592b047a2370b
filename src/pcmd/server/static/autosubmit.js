// A <select data-autosubmit> sends its form when a new option is chosen (no inline handlers:
// the pages' Content-Security-Policy allows scripts from /static only).
document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
  select.addEventListener("change", function () {
    select.form.submit();
  });
});
