(function () {
  'use strict';
  var table = document.getElementById('findings');
  var search = document.getElementById('search');
  var level = document.getElementById('level-filter');
  var shown = document.getElementById('shown');
  if (!table || !search || !level || !shown) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var text = rows.map(function (r) { return r.textContent.toLowerCase(); });

  function apply() {
    var q = search.value.toLowerCase();
    var min = Number(level.value);
    var n = 0;
    for (var i = 0; i < rows.length; i++) {
      var ok = Number(rows[i].getAttribute('data-level')) >= min &&
        (q === '' || text[i].indexOf(q) !== -1);
      rows[i].hidden = !ok;
      if (ok) { n++; }
    }
    shown.textContent = String(n);
  }

  function key(row, col, numeric) {
    var cell = row.cells[col];
    if (!cell) { return numeric ? 0 : ''; }
    var v = cell.getAttribute('data-sort');
    if (v === null) { v = cell.textContent; }
    return numeric ? Number(v) : v.toLowerCase();
  }

  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (th, col) {
    th.addEventListener('click', function () {
      var numeric = th.getAttribute('data-type') === 'num';
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      headers.forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var order = rows.map(function (r, i) { return i; });
      order.sort(function (a, b) {
        var x = key(rows[a], col, numeric);
        var y = key(rows[b], col, numeric);
        var c = x < y ? -1 : (x > y ? 1 : a - b);
        return asc ? c : -c;
      });
      var frag = document.createDocumentFragment();
      rows = order.map(function (i) { frag.appendChild(rows[i]); return rows[i]; });
      text = order.map(function (i) { return text[i]; });
      body.appendChild(frag);
    });
  });
  search.addEventListener('input', apply);
  level.addEventListener('change', apply);

  // A view can be linked: #q=<search>&level=<0-4>&sort=<column, negative for descending>.
  var params = {};
  location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
    var i = kv.indexOf('=');
    if (i > 0) {
      try { params[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, ' ')); } catch (e) { }
    }
  });
  if (params.q) { search.value = params.q; }
  if (/^[0-4]$/.test(params.level || '')) { level.value = params.level; }
  var sort = Number(params.sort);
  if (params.sort && Math.abs(sort) >= 1 && Math.abs(sort) <= headers.length) {
    var th = headers[Math.abs(sort) - 1];
    th.click();
    if (sort < 0) { th.click(); }
  }
  apply();
  document.documentElement.setAttribute('data-spoor-ready', '1');
})();
