// The one Content-Security-Policy of the console's pages, for browser mode (core/api/ws-server.ts) and the desktop
// app (electron/app-protocol.ts) alike. Everything comes from the page's own origin; styles allow inline style
// attributes because the charts and React set them; no 'unsafe-eval' anywhere. base-uri 'none' keeps an injected
// <base> from redirecting the page's relative script and asset URLs.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
