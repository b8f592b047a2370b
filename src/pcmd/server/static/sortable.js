// Click a column header of a table.sortable to sort by it; numbers by their data-value.
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th[data-sort]").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var numeric = th.dataset.sort === "num";
      var dir = th.dataset.dir === "asc" ? -1 : 1;
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      rows.sort(function (a, b) {
        var x = a.cells[col], y = b.cells[col];
        if (numeric) {
          var p = parseFloat(x.dataset.value), q = parseFloat(y.dataset.value);
          p = isNaN(p) ? -Infinity : p; q = isNaN(q) ? -Infinity : q;
          return (p - q) * dir;
        }
        return x.textContent.localeCompare(y.textContent, "vi") * dir;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
