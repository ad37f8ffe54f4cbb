import './zod-setup';
import './styles/app.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { startAlerts } from './store/alerts';
import { startSync } from './store/sync';
import { initTheme } from './theme';

// The per-launch token came in the query; the server has set it as an HttpOnly cookie by now, so take it out of
// the address bar and history where a screenshot or a shared link would leak it.
if (new URLSearchParams(location.search).has('token')) {
  history.replaceState(null, '', location.pathname + location.hash);
}

initTheme();
startSync();
startAlerts();

const root = document.getElementById('root');
if (root === null) throw new Error('no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
