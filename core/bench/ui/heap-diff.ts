// Compares two V8 heap snapshots of the same page (bench:ui --snapshots, or DevTools' "Save profile"), by
// constructor: what grew between them, and what holds on to the objects that are new in the second.
//
//   tsx core/bench/ui/heap-diff.ts A.heapsnapshot B.heapsnapshot [--top 30] [--retainers NAME[,NAME…]] [--paths 3]
//
// Per class (a constructor name; closures as "(closure) name", strings as "(string)", arrays as "(array) kind"):
// objects and self size in A and in B, and the objects of B that A did not have (V8 keeps an object's snapshot id
// across snapshots of one session, so "new" means allocated after A and still alive at B). Sorted by growth in self
// size. --retainers prints, for a few new objects of each named class, the shortest strong path from the GC roots
// down to it: the chain that keeps it alive.
//
// Self sizes, not retained sizes: retained sizes need the dominator tree, and the list of new objects with their
// retainer paths has been enough to find a leak. Exit status: 0, 1 on unreadable input, 2 on bad arguments.

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface RawSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** A parsed snapshot: nodes in columns, edges in CSR form (firstEdge[i] … firstEdge[i + 1]). */
export interface Snapshot {
  nodeCount: number;
  type: Uint8Array;
  name: Uint32Array;
  id: Float64Array;
  selfSize: Float64Array;
  firstEdge: Uint32Array;
  edgeType: Uint8Array;
  edgeName: Uint32Array;
  edgeTo: Uint32Array;
  nodeTypes: string[];
  edgeTypes: string[];
  strings: string[];
}

export function parseSnapshot(text: string, what: string): Snapshot {
  let raw: RawSnapshot;
  try {
    raw = JSON.parse(text) as RawSnapshot;
  } catch (err) {
    throw new Error(`${what}: not a heap snapshot (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const meta = raw.snapshot?.meta;
  if (meta === undefined || !Array.isArray(raw.nodes) || !Array.isArray(raw.edges) || !Array.isArray(raw.strings)) {
    throw new Error(`${what}: not a heap snapshot (no snapshot.meta, nodes, edges or strings)`);
  }
  const nf = meta.node_fields;
  const ef = meta.edge_fields;
  const field = (fields: string[], f: string): number => {
    const i = fields.indexOf(f);
    if (i < 0) throw new Error(`${what}: the snapshot has no '${f}' field`);
    return i;
  };
  const [nType, nName, nId, nSize, nEdges] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => field(nf, f)) as [number, number, number, number, number];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => field(ef, f)) as [number, number, number];
  const nodeCount = raw.nodes.length / nf.length;
  const edgeCount = raw.edges.length / ef.length;
  const s: Snapshot = {
    nodeCount,
    type: new Uint8Array(nodeCount),
    name: new Uint32Array(nodeCount),
    id: new Float64Array(nodeCount),
    selfSize: new Float64Array(nodeCount),
    firstEdge: new Uint32Array(nodeCount + 1),
    edgeType: new Uint8Array(edgeCount),
    edgeName: new Uint32Array(edgeCount),
    edgeTo: new Uint32Array(edgeCount),
    nodeTypes: meta.node_types[0],
    edgeTypes: meta.edge_types[0],
    strings: raw.strings,
  };
  let e = 0;
  for (let i = 0; i < nodeCount; i++) {
    const o = i * nf.length;
    s.type[i] = raw.nodes[o + nType]!;
    s.name[i] = raw.nodes[o + nName]!;
    s.id[i] = raw.nodes[o + nId]!;
    s.selfSize[i] = raw.nodes[o + nSize]!;
    s.firstEdge[i] = e;
    e += raw.nodes[o + nEdges]!;
  }
  s.firstEdge[nodeCount] = e;
  if (e !== edgeCount) throw new Error(`${what}: edge counts do not add up (${e} of ${edgeCount})`);
  for (let j = 0; j < edgeCount; j++) {
    const o = j * ef.length;
    s.edgeType[j] = raw.edges[o + eType]!;
    s.edgeName[j] = raw.edges[o + eName]!;
    s.edgeTo[j] = raw.edges[o + eTo]! / nf.length;
  }
  return s;
}

/** The class a node is counted under, as DevTools' summary groups them (closures keep their function's name). */
export function className(s: Snapshot, i: number): string {
  const type = s.nodeTypes[s.type[i]!]!;
  const name = s.strings[s.name[i]!]!;
  switch (type) {
    case 'object':
    case 'native':
      return name;
    case 'closure':
      return `(closure) ${name || '(anonymous)'}`;
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'array':
      return `(array) ${name}`;
    case 'code':
      return '(compiled code)';
    case 'number':
    case 'bigint':
      return `(${type})`;
    default:
      return name === '' ? `(${type})` : `(${type}) ${name}`;
  }
}

export interface ClassDiff {
  name: string;
  countA: number;
  countB: number;
  sizeA: number;
  sizeB: number;
  /** Objects of B whose id A did not have. */
  newCount: number;
  newSize: number;
}

export function diffByClass(a: Snapshot, b: Snapshot): ClassDiff[] {
  const rows = new Map<string, ClassDiff>();
  const row = (name: string): ClassDiff => {
    let r = rows.get(name);
    if (r === undefined) {
      r = { name, countA: 0, countB: 0, sizeA: 0, sizeB: 0, newCount: 0, newSize: 0 };
      rows.set(name, r);
    }
    return r;
  };
  const idsA = new Set<number>();
  for (let i = 0; i < a.nodeCount; i++) {
    idsA.add(a.id[i]!);
    const r = row(className(a, i));
    r.countA++;
    r.sizeA += a.selfSize[i]!;
  }
  for (let i = 0; i < b.nodeCount; i++) {
    const r = row(className(b, i));
    r.countB++;
    r.sizeB += b.selfSize[i]!;
    if (!idsA.has(b.id[i]!)) {
      r.newCount++;
      r.newSize += b.selfSize[i]!;
    }
  }
  return [...rows.values()].sort((x, y) => y.sizeB - y.sizeA - (x.sizeB - x.sizeA) || y.newSize - x.newSize);
}

/** Shortest distance from the root (node 0) over strong edges; weak edges do not keep anything alive. */
function distances(s: Snapshot): Int32Array {
  const weak = s.edgeTypes.indexOf('weak');
  const dist = new Int32Array(s.nodeCount).fill(-1);
  const queue = new Uint32Array(s.nodeCount);
  let head = 0;
  let tail = 0;
  dist[0] = 0;
  queue[tail++] = 0;
  while (head < tail) {
    const n = queue[head++]!;
    for (let e = s.firstEdge[n]!; e < s.firstEdge[n + 1]!; e++) {
      if (s.edgeType[e] === weak) continue;
      const to = s.edgeTo[e]!;
      if (dist[to] !== -1) continue;
      dist[to] = dist[n]! + 1;
      queue[tail++] = to;
    }
  }
  return dist;
}

function edgeLabel(s: Snapshot, e: number): string {
  const type = s.edgeTypes[s.edgeType[e]!]!;
  const n = s.edgeName[e]!;
  if (type === 'element' || type === 'hidden') return `[${n}]`;
  return type === 'property' || type === 'context' || type === 'internal' || type === 'shortcut' ? `.${s.strings[n]!}` : `${type}:${s.strings[n]!}`;
}

/**
 * For up to `paths` objects of class `name` that are new in B, the chain of (retainer, edge) from a GC root down
 * to the object, always through the retainer nearest the root.
 */
export function retainerPaths(a: Snapshot, b: Snapshot, name: string, paths: number): string[][] {
  const idsA = new Set<number>(a.id);
  const dist = distances(b);
  const weak = b.edgeTypes.indexOf('weak');
  // Retainers: for every edge, (from, edge) indexed by target.
  const retainerCount = new Uint32Array(b.nodeCount + 1);
  for (let e = 0; e < b.edgeTo.length; e++) retainerCount[b.edgeTo[e]! + 1]!++;
  for (let i = 0; i < b.nodeCount; i++) retainerCount[i + 1]! += retainerCount[i]!;
  const fill = retainerCount.slice();
  const retFrom = new Uint32Array(b.edgeTo.length);
  const retEdge = new Uint32Array(b.edgeTo.length);
  for (let n = 0; n < b.nodeCount; n++) {
    for (let e = b.firstEdge[n]!; e < b.firstEdge[n + 1]!; e++) {
      const slot = fill[b.edgeTo[e]!]!++;
      retFrom[slot] = n;
      retEdge[slot] = e;
    }
  }
  const describe = (n: number): string => `${className(b, n)} @${b.id[n]!}`;
  const out: string[][] = [];
  for (let i = 0; i < b.nodeCount && out.length < paths; i++) {
    if (idsA.has(b.id[i]!) || className(b, i) !== name) continue;
    const chain = [describe(i)];
    let n = i;
    const seen = new Set<number>([n]);
    while (dist[n]! > 0 && chain.length < 40) {
      let best = -1;
      let bestEdge = -1;
      for (let r = retainerCount[n]!; r < retainerCount[n + 1]!; r++) {
        const from = retFrom[r]!;
        if (b.edgeType[retEdge[r]!] === weak || dist[from]! < 0 || seen.has(from)) continue;
        if (best < 0 || dist[from]! < dist[best]!) {
          best = from;
          bestEdge = retEdge[r]!;
        }
      }
      if (best < 0) {
        chain.push(dist[n]! < 0 ? '(unreachable from the roots: garbage at snapshot time)' : '(no strong retainer)');
        break;
      }
      chain.push(`${describe(best)} ${edgeLabel(b, bestEdge)}`);
      seen.add(best);
      n = best;
    }
    out.push(chain.reverse());
  }
  return out;
}

// ---- command line --------------------------------------------------------------------------------------------

const HELP = `Usage: tsx core/bench/ui/heap-diff.ts A.heapsnapshot B.heapsnapshot [--top N] [--retainers NAME[,NAME…]] [--paths N]

  --top N            classes to list, largest growth in self size first (default 30)
  --retainers NAMES  for new objects of these classes (as listed, e.g. "Array", "(closure) paint"), print the
                     shortest strong path from the GC roots
  --paths N          paths per class (default 3)`;

class UsageError extends Error {}

function count(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: '${v ?? ''}' is not a positive whole number`);
  return n;
}

function main(argv: readonly string[]): number {
  const files: string[] = [];
  let top = 30;
  let paths = 3;
  let retainers: string[] = [];
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--help' || a === '-h') {
        process.stdout.write(`${HELP}\n`);
        return 0;
      } else if (a === '--top') top = count(a, argv[++i]);
      else if (a === '--paths') paths = count(a, argv[++i]);
      else if (a === '--retainers') retainers = (argv[++i] ?? '').split(',').filter((x) => x !== '');
      else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
      else files.push(a);
    }
    if (files.length !== 2) throw new UsageError('two snapshot files are needed');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`heap-diff: ${err.message}\n${HELP}\n`);
    return 2;
  }
  let a: Snapshot;
  let b: Snapshot;
  try {
    [a, b] = files.map((f) => parseSnapshot(readFileSync(f, 'utf8'), f)) as [Snapshot, Snapshot];
  } catch (err) {
    process.stderr.write(`heap-diff: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const rows = diffByClass(a, b);
  const total = (pick: (r: ClassDiff) => number): number => rows.reduce((acc, r) => acc + pick(r), 0);
  const kb = (bytes: number): string => (bytes / 1024).toFixed(1);
  const signed = (x: string): string => (x.startsWith('-') ? x : `+${x}`);
  process.stdout.write(`A ${files[0]}: ${a.nodeCount} objects, ${kb(total((r) => r.sizeA))} KiB\n`);
  process.stdout.write(`B ${files[1]}: ${b.nodeCount} objects, ${kb(total((r) => r.sizeB))} KiB (${total((r) => r.newCount)} objects, ${kb(total((r) => r.newSize))} KiB new since A)\n\n`);
  const head = ['class', 'count A', 'count B', 'Δ count', 'KiB A', 'KiB B', 'Δ KiB', 'new', 'new KiB'];
  const body = rows.slice(0, top).map((r) => [
    r.name.length > 60 ? `${r.name.slice(0, 57)}…` : r.name,
    String(r.countA), String(r.countB), signed(String(r.countB - r.countA)),
    kb(r.sizeA), kb(r.sizeB), signed(kb(r.sizeB - r.sizeA)), String(r.newCount), kb(r.newSize),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(`${[line(head), ...body.map(line)].join('\n')}\n`);
  for (const name of retainers) {
    process.stdout.write(`\nRetainer paths of new ${name}:\n`);
    const found = retainerPaths(a, b, name, paths);
    if (found.length === 0) process.stdout.write('  (no new objects of this class)\n');
    for (const chain of found) process.stdout.write(`${chain.map((step, i) => `${'  '.repeat(i + 1)}${step}`).join('\n')}\n\n`);
  }
  return 0;
}

// Run as a command, not when imported for its functions.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
