// How QEMU's monitor puts a QMP message on the wire: JSON with a space after every ':' and ',' and members in the
// order QEMU built them, each message ended by "\r\n" (the monitor turns '\n' into "\r\n"), and events stamped with
// the host's wall clock in seconds and microseconds. Also the reverse: QEMU reads commands with a streaming JSON
// parser, so a command needs no line end and several may arrive in one chunk.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One message as QEMU's encoder writes it (without the line end). */
export function qemuJson(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(qemuJson).join(', ')}]`;
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${qemuJson(v)}`).join(', ')}}`;
}

export function qemuLine(value: Json): string {
  return `${qemuJson(value)}\r\n`;
}

/** Wall-clock time with microseconds, as QEMU stamps events (g_get_real_time). */
export function qemuTimestamp(nowMicros = Math.round((performance.timeOrigin + performance.now()) * 1000)): { seconds: number; microseconds: number } {
  return { seconds: Math.floor(nowMicros / 1e6), microseconds: nowMicros % 1e6 };
}

/**
 * Splits a byte stream into top-level JSON texts the way a streaming parser does: by brace/bracket depth outside
 * strings. Whitespace between texts is skipped; anything else at depth 0 becomes a text of its own so the caller
 * can answer it with a parse error.
 */
export class JsonSplitter {
  private text = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;
  /** Refuses to hold more than this (QEMU limits a command's size too); the caller drops the connection. */
  constructor(private readonly maxBytes = 1024 * 1024) {}

  /** Feeds bytes; returns the complete texts, or null when the pending text grew past the limit. */
  push(chunk: string): string[] | null {
    this.text += chunk;
    const out: string[] = [];
    for (let i = this.scanned; i < this.text.length; i++) {
      const c = this.text[i]!;
      if (this.start < 0) {
        if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
        this.start = i;
        if (c !== '{' && c !== '[') {
          // A bare scalar or stray character at top level: hand it over once it ends (a string at its closing
          // quote, anything else at the next whitespace or bracket).
          const rest = this.text.slice(i);
          const str = c === '"' ? /^"(?:[^"\\]|\\.)*"/.exec(rest) : null;
          const end = str !== null ? str[0].length : c === '"' ? -1 : rest.search(/[\s{[]/);
          if (end < 0) break;
          out.push(this.text.slice(i, i + end));
          this.start = -1;
          i += end - 1;
          continue;
        }
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) {
          out.push(this.text.slice(this.start, i + 1));
          this.start = -1;
        }
      }
    }
    if (this.start < 0) {
      this.text = '';
      this.scanned = 0;
    } else {
      this.text = this.text.slice(this.start);
      if (this.text[0] === '{' || this.text[0] === '[') {
        this.scanned = this.text.length;
        this.start = 0;
      } else {
        // An unfinished stray scalar: look at it again, whole, when more bytes come.
        this.scanned = 0;
        this.start = -1;
      }
      if (this.text.length > this.maxBytes) return null;
    }
    return out;
  }
}
