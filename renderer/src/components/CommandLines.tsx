// The command lines a preflight says the console will run (QEMU launch: each side's QEMU), shown whole in a
// monospace block, each with the host it runs on and a copy button, so the admin can read and reuse them.

import { useState } from 'react';
import { type CommandLine, commandHost } from '../lib/qemu';

interface Props {
  commands: readonly CommandLine[];
  primaryName: string;
  secondaryName: string;
}

function CopyButton({ text }: { text: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = (): void => {
    // Not every browser context offers the clipboard (plain http): the text stays selectable in the block.
    const clip = typeof navigator !== 'undefined' ? navigator.clipboard : undefined;
    if (clip === undefined) {
      setState('failed');
      return;
    }
    clip.writeText(text).then(() => setState('copied'), () => setState('failed'));
  };
  return (
    <button type="button" className="small" onClick={copy} aria-live="polite">
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text' : 'Copy'}
    </button>
  );
}

export function CommandLines({ commands, primaryName, secondaryName }: Props) {
  if (commands.length === 0) return null;
  return (
    <section aria-label="Command lines" data-testid="preflight-commands" className="stack">
      {commands.map((c) => {
        const host = commandHost(c, primaryName, secondaryName);
        return (
          <figure key={c.id} style={{ margin: 0 }} data-testid={`command-${c.id}`}>
            <figcaption className="row" style={{ justifyContent: 'space-between' }}>
              <b>The console will run this on {host}</b>
              <CopyButton text={c.command} />
            </figcaption>
            <pre className="mono command-line" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all', userSelect: 'all', margin: '0.3rem 0 0' }}>
              {c.command}
            </pre>
            {c.label !== `The console will run this on ${host}` && <div className="small muted">{c.label}</div>}
          </figure>
        );
      })}
    </section>
  );
}
