// Copies the socket.io browser client from node_modules into static/vendor/, so the widget
// is served from our own origin (no CDN, no third party). Run by `make web` after `npm ci`.
const fs = require("fs");
const path = require("path");

const source = path.join(__dirname, "node_modules", "socket.io-client", "dist", "socket.io.min.js");
const target = path.join(__dirname, "static", "vendor", "socket.io.min.js");
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.copyFileSync(source, target);
const version = JSON.parse(fs.readFileSync(path.join(__dirname, "node_modules", "socket.io-client", "package.json"))).version;
console.log(`vendored socket.io-client ${version} -> ${path.relative(process.cwd(), target)}`);
