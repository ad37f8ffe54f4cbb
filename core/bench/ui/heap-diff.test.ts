import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffByClass, parseSnapshot, retainerPaths } from './heap-diff.js';

// The layout V8 writes (HeapProfiler.takeHeapSnapshot), cut down to what heap-diff reads.
const NODE_FIELDS = ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'];
const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic'];
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];

interface N {
  type: string;
  name: string;
  id: number;
  size: number;
  edges: [type: string, name: string | number, to: number][];
}

function snapshot(nodes: N[]): string {
  const strings: string[] = [];
  const str = (s: string): number => {
    const i = strings.indexOf(s);
    return i >= 0 ? i : strings.push(s) - 1;
  };
  const flatNodes: number[] = [];
  const flatEdges: number[] = [];
  for (const n of nodes) {
    flatNodes.push(NODE_TYPES.indexOf(n.type), str(n.name), n.id, n.size, n.edges.length, 0, 0);
    for (const [type, name, to] of n.edges) {
      flatEdges.push(EDGE_TYPES.indexOf(type), typeof name === 'number' ? name : str(name), to * NODE_FIELDS.length);
    }
  }
  return JSON.stringify({
    snapshot: { meta: { node_fields: NODE_FIELDS, node_types: [NODE_TYPES, 'string'], edge_fields: ['type', 'name_or_index', 'to_node'], edge_types: [EDGE_TYPES, 'string_or_number', 'node'] } },
    nodes: flatNodes,
    edges: flatEdges,
    strings,
  });
}

// root → Window →.list→ Array →[i]→ Entry …; a weak edge from Window to the last entry keeps nothing alive.
function page(entryIds: number[], weakTo?: number): N[] {
  const entries: N[] = entryIds.map((id) => ({ type: 'object', name: 'Entry', id, size: 40, edges: [] }));
  const first = 3;
  return [
    { type: 'synthetic', name: '', id: 1, size: 0, edges: [['element', 1, 1]] },
    { type: 'object', name: 'Window', id: 3, size: 100, edges: [['property', 'list', 2], ...(weakTo === undefined ? [] : [['weak', 'cache', weakTo] as N['edges'][number]])] },
    { type: 'array', name: '(object elements)', id: 5, size: 16 + 8 * entryIds.length, edges: entryIds.map((_, i) => ['element', i, first + i] as N['edges'][number]) },
    ...entries,
  ];
}

test('diffByClass counts objects and self size per constructor, and which objects are new since the first snapshot', () => {
  const a = parseSnapshot(snapshot(page([11, 13])), 'a');
  const b = parseSnapshot(snapshot(page([13, 15, 17])), 'b');
  const rows = diffByClass(a, b);
  const entry = rows.find((r) => r.name === 'Entry');
  assert.deepEqual(entry, { name: 'Entry', countA: 2, countB: 3, sizeA: 80, sizeB: 120, newCount: 2, newSize: 80 });
  assert.equal(rows[0]!.name, 'Entry', 'the class that grew most comes first');
  const arrays = rows.find((r) => r.name === '(array) (object elements)');
  assert.deepEqual(arrays, { name: '(array) (object elements)', countA: 1, countB: 1, sizeA: 32, sizeB: 40, newCount: 0, newSize: 0 });
});

test('retainerPaths leads from the GC root to each new object through strong edges only', () => {
  const a = parseSnapshot(snapshot(page([11])), 'a');
  // Window also holds the new entry weakly; the path must go through the array instead.
  const b = parseSnapshot(snapshot(page([11, 15], 4)), 'b');
  const paths = retainerPaths(a, b, 'Entry', 5);
  assert.equal(paths.length, 1, 'only the entry that is new in B');
  assert.deepEqual(paths[0], ['(synthetic) @1 [1]', 'Window @3 .list', '(array) (object elements) @5 [1]', 'Entry @15']);
});

test('parseSnapshot names the file when it is not a heap snapshot', () => {
  assert.throws(() => parseSnapshot('{"nodes": []}', 'x.heapsnapshot'), /x\.heapsnapshot: not a heap snapshot/);
  assert.throws(() => parseSnapshot('not json', 'y.heapsnapshot'), /y\.heapsnapshot: not a heap snapshot/);
});
