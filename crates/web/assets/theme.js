// Applies the saved theme before the page paints (loaded synchronously in <head>; a separate
// file so that the Content-Security-Policy can forbid inline scripts).
try { var t = localStorage.getItem("portico-theme"); if (t) document.documentElement.dataset.theme = t; } catch (e) {}
