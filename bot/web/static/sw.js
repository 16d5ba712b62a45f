// 村务助手 web chat service worker: keeps the page's shell so the chat opens without signal.
// Network first (a new release is used at once when there is signal), the cached copy when
// there is none. Only GETs of the shell are handled; the socket, uploads and photos are not.
"use strict";
var CACHE = "cunbot-chat-shell-v2";
var SHELL = [
  "/chat",
  "/chat/static/chat.js",
  "/chat/static/chat.css",
  "/chat/manifest.webmanifest",
  "/chat/static/icon.svg",
  "/chat/static/icon-192.png"
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll(SHELL); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k !== CACHE; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || SHELL.indexOf(url.pathname) < 0) return;
  event.respondWith(
    fetch(req).then(function (res) {
      if (res.ok) {
        var copy = res.clone();
        caches.open(CACHE).then(function (cache) { return cache.put(url.pathname, copy); });
      }
      return res;
    }).catch(function () {
      return caches.match(url.pathname).then(function (hit) {
        return hit || Response.error();
      });
    })
  );
});
