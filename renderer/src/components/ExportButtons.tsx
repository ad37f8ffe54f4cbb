import { useState } from 'react';
import { api, errorMessage } from '../api/console-api';

/** Saves what 'pairs.export' returns through a Blob link: no server round trip for the file itself. */
export function downloadText(filename: string, mediaType: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: mediaType }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  // Revoke later: the download starts asynchronously in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function ExportButtons({ pairId }: { pairId: string }) {
  const [busy, setBusy] = useState<'csv' | 'json' | null>(null);
  const [status, setStatus] = useState<{ error: boolean; text: string } | null>(null);
  const run = async (format: 'csv' | 'json'): Promise<void> => {
    setBusy(format);
    setStatus(null);
    try {
      const file = await api.call('pairs.export', { pairId, format }, { timeoutMs: 60_000 });
      downloadText(file.filename, file.mediaType, file.content);
      setStatus({ error: false, text: `Saved ${file.filename}.` });
    } catch (err) {
      setStatus({ error: true, text: `Export failed: ${errorMessage(err)}` });
    } finally {
      setBusy(null);
    }
  };
  return (
    <div className="row small" role="group" aria-label="Export cycles">
      <span className="muted">Export cycles</span>
      <button type="button" data-testid="export-csv" aria-label="Export cycles as CSV" disabled={busy !== null} onClick={() => void run('csv')}>
        {busy === 'csv' ? 'Exporting…' : 'CSV'}
      </button>
      <button type="button" data-testid="export-json" aria-label="Export cycles as JSON" disabled={busy !== null} onClick={() => void run('json')}>
        {busy === 'json' ? 'Exporting…' : 'JSON'}
      </button>
      <span className={status?.error ? 'error-text' : 'muted'} role={status?.error ? 'alert' : 'status'}>
        {status?.text ?? ''}
      </span>
    </div>
  );
}
