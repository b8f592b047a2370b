// The submissions list: "select every record of this page" ticks or clears each row's box
// (no inline handlers: the pages' Content-Security-Policy allows scripts from /static only).
var all = document.getElementById("select-all");
if (all) {
  all.addEventListener("change", function () {
    document.querySelectorAll("#submissions input[name=ids]").forEach(function (box) {
      box.checked = all.checked;
    });
  });
}
