// What a browser-mode page opened without its token shows (a bare http://127.0.0.1:PORT/, a bookmark, a new tab):
// where the right address is, instead of a console that can never connect.

export function MissingToken() {
  return (
    <main id="main" className="missing-token" data-testid="missing-token">
      <h1 id="page-title">Open the console from the address it printed</h1>
      <p>
        This page was opened without its access token, so it cannot connect to the console service. The service
        makes a new token each time it starts and prints the full address, ending in <span className="mono">#token=…</span>,
        in the terminal where it was started:
      </p>
      <pre className="mono">COLO Console (browser mode) is at http://127.0.0.1:PORT/#token=…</pre>
      <p>
        Look for that line in the output of <span className="mono">colo-console serve</span> (or <span className="mono">npm start</span>, when
        it started browser mode), and open that address. An address from an earlier start does not work.
      </p>
    </main>
  );
}
