// The commune picker: typing in [data-picker-filter] hides the communes whose names do not
// contain the text, accents ignored ("tinh son" finds "Tịnh Sơn"). Chosen communes stay shown.
// No inline handlers: the pages' Content-Security-Policy allows scripts from /static only.
(function () {
  function plain(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/gi, "d")
      .toLowerCase().trim();
  }
  document.querySelectorAll("fieldset.picker").forEach(function (box) {
    var input = box.querySelector("[data-picker-filter]");
    var none = box.querySelector("[data-picker-none]");
    var items = Array.prototype.slice.call(box.querySelectorAll("[data-picker-list] label"));
    if (!input) return;
    input.addEventListener("input", function () {
      var wanted = plain(input.value);
      var shown = 0;
      items.forEach(function (item) {
        var ticked = item.querySelector("input").checked;
        var match = !wanted || ticked || plain(item.textContent).indexOf(wanted) >= 0;
        item.hidden = !match;
        if (match) shown += 1;
      });
      if (none) none.hidden = shown > 0;
    });
    // Enter in the search box narrows the list; it does not send the form
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();
    });
  });
})();
