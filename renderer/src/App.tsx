import { useEffect, useRef, useState } from 'react';
import { api, errorMessage } from './api/console-api';
import { titleWithAlerts } from './lib/alarm';
import { hrefFor, type Route } from './lib/route';
import { useRoute } from './router';
import { Audit } from './screens/Audit';
import { HostView } from './screens/HostView';
import { Hosts } from './screens/Hosts';
import { Overview } from './screens/Overview';
import { PairView } from './screens/PairView';
import { dismissAlert, enableDesktopAlerts, useAlerts } from './store/alerts';
import { dismissNotice, pushNotice, useConsole } from './store/store';
import { queuePatch } from './store/scheduler';
import { applyTheme, currentTheme, type ThemeSetting } from './theme';

const NAV: readonly { route: Route; label: string; testId: string; match: Route['name'][] }[] = [
  { route: { name: 'overview' }, label: 'Overview', testId: 'nav-overview', match: ['overview', 'pair'] },
  { route: { name: 'hosts' }, label: 'Hosts', testId: 'nav-hosts', match: ['hosts', 'host'] },
  { route: { name: 'audit' }, label: 'Audit log', testId: 'nav-audit', match: ['audit'] },
];

function ConnectionIndicator() {
  const c = useConsole((s) => s.connection);
  const label = c.phase === 'open' ? (c.transport === 'electron' ? 'Connected' : 'Connected (browser)') : c.phase === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span className="conn" role="status" data-testid="connection-status" data-phase={c.phase}>
      <span className={`conn-dot ${c.phase}`} aria-hidden="true" />
      {label}
    </span>
  );
}

function ConnectionBanner() {
  const c = useConsole((s) => s.connection);
  const errors = useConsole((s) => s.protocolErrors);
  const lastError = useConsole((s) => s.lastProtocolError);
  return (
    <>
      {c.phase !== 'open' && c.detail !== undefined && (
        <div className="banner warn" role="alert">
          <span>{c.detail} The screens show the last data received.</span>
          <button type="button" onClick={() => api.retryNow()}>
            Retry now
          </button>
        </div>
      )}
      {errors > 0 && (
        <div className="banner info" role="status">
          <span>
            {errors} message(s) from the service were rejected as malformed or lost{lastError !== null ? `; last: ${lastError}` : ''}.
          </span>
        </div>
      )}
    </>
  );
}

/** Pairs that left Protected, on every screen: which VM, what happened, where it runs now, a link to it. */
function AlertBar() {
  const alerts = useAlerts((s) => s.alerts);
  if (alerts.length === 0) return null;
  return (
    <section className="alert-bar" role="alert" aria-label="Pairs needing attention" data-testid="alert-bar">
      {alerts.map((a) => (
        <div className="alert" key={a.pairId} data-testid={`alert-${a.pairId}`}>
          <a href={hrefFor({ name: 'pair', id: a.pairId })}>⚠ {a.title}</a>
          <span>{a.body}</span>
          <button type="button" className="link" onClick={() => dismissAlert(a.pairId)} aria-label={`Dismiss the alert for ${a.title}`}>
            Dismiss
          </button>
        </div>
      ))}
    </section>
  );
}

/** Desktop notifications need the user's permission in a browser; the desktop app raises its own (store/alerts.ts). */
function DesktopAlertsControl() {
  const permission = useAlerts((s) => s.notifyPermission);
  const electron = useConsole((s) => s.connection.transport === 'electron');
  if (electron || permission === 'unsupported' || permission === 'granted') return null;
  if (permission === 'denied') return <span className="small muted">Desktop alerts blocked by the browser</span>;
  return (
    <button
      type="button"
      className="small"
      data-testid="enable-desktop-alerts"
      onClick={() => {
        enableDesktopAlerts().catch((err: unknown) => pushNotice('error', `Desktop alerts could not be enabled: ${errorMessage(err)}`));
      }}
    >
      Enable desktop alerts
    </button>
  );
}

function ThemeSelect() {
  const settings = useConsole((s) => s.settings);
  const [local, setLocal] = useState<ThemeSetting>(currentTheme);
  const value = settings?.theme ?? local;
  const change = (theme: ThemeSetting): void => {
    setLocal(theme);
    applyTheme(theme);
    if (settings !== null) queuePatch({ settings: { ...settings, theme } });
    api.call('settings.set', { theme }).then(
      (saved) => queuePatch({ settings: saved }),
      (err: unknown) => pushNotice('error', `Could not save the theme: ${errorMessage(err)}`),
    );
  };
  return (
    <label className="small">
      Theme
      <select value={value} onChange={(e) => change(e.target.value as ThemeSetting)} data-testid="theme-select">
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

function Notices() {
  const notices = useConsole((s) => s.notices);
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.kind}`} role={n.kind === 'info' ? 'status' : 'alert'} data-testid={`notice-${n.kind}`}>
          <p>{n.text}</p>
          <button type="button" className="link" onClick={() => dismissNotice(n.id)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.name) {
    case 'overview':
      return <Overview />;
    case 'pair':
      return <PairView key={route.id} id={route.id} />;
    case 'hosts':
      return <Hosts />;
    case 'host':
      return <HostView key={route.id} id={route.id} />;
    case 'audit':
      return <Audit />;
    case 'not-found':
      return (
        <>
          <h1 id="page-title" tabIndex={-1}>
            Page not found
          </h1>
          <p>
            Nothing lives at <span className="mono">{route.path}</span>. <a href="#/">Go to the overview</a>.
          </p>
        </>
      );
  }
}

export function App() {
  const route = useRoute();
  const key = hrefFor(route);
  const firstRoute = useRef(true);
  const alertCount = useAlerts((s) => s.alerts.length);

  // Move focus to the new screen's heading, so keyboard and screen-reader users land on what changed.
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    document.getElementById('page-title')?.focus();
    window.scrollTo(0, 0);
  }, [key]);

  useEffect(() => {
    const title = route.name === 'pair' ? `${useConsole.getState().pairs[route.id]?.name ?? route.id} · COLO Console` : 'COLO Console';
    document.title = titleWithAlerts(title, alertCount);
  }, [route, alertCount]);

  return (
    <>
      <a className="skip-link" href="#main" onClick={(e) => {
        e.preventDefault();
        document.getElementById('page-title')?.focus();
      }}>
        Skip to content
      </a>
      <header className="app-header">
        <span className="brand">
          COLO Console<small>VM replication</small>
        </span>
        <nav className="nav" aria-label="Main">
          {NAV.map((n) => (
            <a key={n.testId} href={hrefFor(n.route)} data-testid={n.testId} aria-current={n.match.includes(route.name) ? 'page' : undefined}>
              {n.label}
              {n.testId === 'nav-overview' && alertCount > 0 && (
                <span className="nav-count" data-testid="nav-alert-count" aria-label={`${alertCount} pair(s) need attention`}>
                  {alertCount}
                </span>
              )}
            </a>
          ))}
        </nav>
        <span className="header-spacer" />
        <div className="header-tools">
          <ConnectionIndicator />
          <DesktopAlertsControl />
          <ThemeSelect />
        </div>
      </header>
      <ConnectionBanner />
      <AlertBar />
      <main id="main">
        <Screen route={route} />
      </main>
      <Notices />
    </>
  );
}
