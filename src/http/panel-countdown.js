/* global document, performance */
// Mesa panel: ticks the "time left to the next escalation" of every element that carries
// data-left-ms (milliseconds left when the server rendered the page) and data-warn-ms. The text
// and the colour class mirror escalationCountdown() in ticket-views.ts; the page is correct
// without this script (it is served by /panel/countdown.js: the CSP allows same-origin scripts only).
(function () {
  'use strict';
  var started = performance.now();
  var MINUTE = 60000;

  function compact(ms) {
    var total = Math.round(Math.abs(ms) / MINUTE);
    if (total < 1) return 'menos de 1 min';
    if (total < 60) return total + ' min';
    if (total < 24 * 60) {
      var h = Math.floor(total / 60);
      var m = total % 60;
      return m ? h + ' h ' + m + ' min' : h + ' h';
    }
    var hours = Math.round(total / 60);
    var d = Math.floor(hours / 24);
    var rest = hours % 24;
    return rest ? d + ' d ' + rest + ' h' : d + ' d';
  }

  function tick() {
    var elapsed = performance.now() - started;
    var items = document.querySelectorAll('[data-left-ms]');
    for (var i = 0; i < items.length; i++) {
      var el = items[i];
      var left = Number(el.getAttribute('data-left-ms')) - elapsed;
      var warn = Number(el.getAttribute('data-warn-ms'));
      var breached = el.getAttribute('data-breached') === 'true';
      if (!isFinite(left)) continue;
      var status = breached || left <= 0 ? 'bad' : left <= warn ? 'warn' : 'ok';
      var text = left > 0 ? 'escala en ' + compact(left) : 'vencido hace ' + compact(-left);
      var target = el.querySelector('[data-countdown-text]') || el;
      if (target.textContent !== text) target.textContent = text;
      el.classList.remove('ok', 'warn', 'bad');
      el.classList.add(status);
    }
  }

  tick();
  setInterval(tick, 15000);
})();
