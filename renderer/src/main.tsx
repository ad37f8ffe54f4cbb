import './zod-setup';
import './styles/app.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { api } from './api/console-api';
import { adoptTokenFromUrl } from './api/browser-token';
import { MissingToken } from './components/MissingToken';
import { startAlerts } from './store/alerts';
import { startSync } from './store/sync';
import { initTheme } from './theme';

// Browser mode's token arrives in the URL fragment; move it to sessionStorage before the router reads the hash.
adoptTokenFromUrl();
initTheme();
const tokenMissing = api.tokenMissing();
if (!tokenMissing) {
  startSync();
  startAlerts();
}

const root = document.getElementById('root');
if (root === null) throw new Error('no #root element');
createRoot(root).render(<StrictMode>{tokenMissing ? <MissingToken /> : <App />}</StrictMode>);
