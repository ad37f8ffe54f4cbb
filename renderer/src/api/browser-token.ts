// Browser mode's per-launch token, on the page's side. `serve` prints http://127.0.0.1:PORT/#token=…: a fragment,
// which the browser never sends to any server. On load the page moves it into sessionStorage (kept across reloads
// of this tab, scoped to this origin and port, gone with the tab) and takes it out of the address bar, so neither
// a screenshot nor the history shows it. console-api.ts offers it when it opens the WebSocket.

import { tokenFromFragment } from '../../../core/api/ws-token.js';

const STORAGE_KEY = 'colo-console-token';
/** Where the token lives when sessionStorage is unavailable (disabled storage): this page load only. */
let inMemory: string | null = null;

/** Takes a token out of the URL fragment, if there is one; call before anything reads the route. */
export function adoptTokenFromUrl(): void {
  // A new address pasted into this tab (the service restarted on the same port) changes only the fragment, which
  // does not reload the page: take its token and start over with it.
  window.addEventListener('hashchange', () => {
    if (tokenFromFragment(location.hash) === null) return;
    store();
    location.reload();
  });
  store();
}

function store(): void {
  const token = tokenFromFragment(location.hash);
  if (token === null) return;
  inMemory = token;
  try {
    sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Storage refused: the token still works until this page is reloaded.
  }
  history.replaceState(null, '', location.pathname + location.search);
}

export function browserToken(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? inMemory;
  } catch {
    return inMemory;
  }
}
