// The registry and settings files: defaults on a first start, validation on load, atomic writes, and a corrupt
// file moved aside and reported, never silently replaced.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Problem } from './files.js';
import { DEMO_PAIR, REGISTRY_FILE, Registry, SIM_HOSTS, SIM_HOST_A } from './registry.js';
import { DEFAULT_SETTINGS, SETTINGS_FILE, SettingsStore } from './settings.js';
import { tempDir } from './test-support/service-rig.js';

const NOW = Date.UTC(2025, 0, 31, 12, 0, 0);

function collect(): { problems: Problem[]; report: (p: Problem) => void } {
  const problems: Problem[] = [];
  return { problems, report: (p) => problems.push(p) };
}

void describe('Registry', () => {
  void test('a first start creates the two simulated hosts and the demo pair, and writes them out', (t) => {
    const dir = tempDir(t);
    const { problems, report } = collect();
    const reg = Registry.load(dir, report, NOW);
    assert.deepEqual(problems, []);
    assert.deepEqual(reg.hosts(), SIM_HOSTS);
    assert.deepEqual(reg.pairs(), [DEMO_PAIR]);
    const onDisk = JSON.parse(readFileSync(path.join(dir, REGISTRY_FILE), 'utf8')) as { version: number; pairs: { id: string }[] };
    assert.equal(onDisk.version, 1);
    assert.deepEqual(onDisk.pairs.map((p) => p.id), ['demo']);
  });

  void test('changes persist across loads, and writes leave no temp files behind', (t) => {
    const dir = tempDir(t);
    const reg = Registry.load(dir, () => assert.fail('no problem expected'), NOW);
    reg.updatePair('demo', (p) => ({ ...p, mode: 'remus', sim: { ...p.sim!, remusIntervalMs: 40 } }));
    const again = Registry.load(dir, () => assert.fail('no problem expected'), NOW);
    assert.equal(again.pair('demo')?.mode, 'remus');
    assert.equal(again.pair('demo')?.sim?.remusIntervalMs, 40);
    assert.deepEqual(readdirSync(dir), [REGISTRY_FILE]);
  });

  void test('a registry from before the two simulated hosts moves its simulated pairs onto them', (t) => {
    const dir = tempDir(t);
    const legacyHost = { id: 'sim', name: 'Embedded simulator', kind: 'sim', hypervisor: 'sim' };
    const legacyPair = { ...DEMO_PAIR, primaryHostId: 'sim', secondaryHostId: 'sim' };
    writeFileSync(path.join(dir, REGISTRY_FILE), JSON.stringify({ version: 1, hosts: [legacyHost], pairs: [legacyPair] }));
    const reg = Registry.load(dir, () => assert.fail('no problem expected'), NOW);
    assert.deepEqual(reg.hosts().map((h) => h.id), ['sim-a', 'sim-b']);
    assert.deepEqual([reg.pair('demo')?.primaryHostId, reg.pair('demo')?.secondaryHostId], ['sim-a', 'sim-b']);
    const onDisk = JSON.parse(readFileSync(path.join(dir, REGISTRY_FILE), 'utf8')) as { hosts: { id: string }[] };
    assert.deepEqual(onDisk.hosts.map((h) => h.id), ['sim-a', 'sim-b']);
  });

  void test('an invalid update is refused and nothing is written', (t) => {
    const dir = tempDir(t);
    const reg = Registry.load(dir, () => {}, NOW);
    const before = readFileSync(path.join(dir, REGISTRY_FILE), 'utf8');
    assert.throws(() => reg.updatePair('demo', (p) => ({ ...p, primaryHostId: 'nowhere' })));
    assert.equal(readFileSync(path.join(dir, REGISTRY_FILE), 'utf8'), before);
    assert.equal(reg.pair('demo')?.primaryHostId, SIM_HOST_A.id);
  });

  for (const [what, content, expect] of [
    ['not JSON', '{"version": 1, "hosts": [', /not valid JSON/],
    ['the wrong shape', JSON.stringify({ version: 1, hosts: [{ id: 'sim' }], pairs: [] }), /invalid/],
    ['a pair naming an unknown host', JSON.stringify({ version: 1, hosts: SIM_HOSTS, pairs: [{ ...DEMO_PAIR, secondaryHostId: 'gone' }] }), /unknown host gone/],
  ] as const) {
    void test(`a registry file with ${what} is moved aside and reported; the built-ins come back`, (t) => {
      const dir = tempDir(t);
      const file = path.join(dir, REGISTRY_FILE);
      writeFileSync(file, content);
      const { problems, report } = collect();
      const reg = Registry.load(dir, report, NOW);
      assert.equal(problems.length, 1);
      const p = problems[0]!;
      assert.equal(p.file, file);
      assert.match(p.message, expect);
      assert.equal(p.movedTo, `${file}.corrupt-2025-01-31T12-00-00-000Z`);
      assert.equal(readFileSync(p.movedTo, 'utf8'), content, 'the bad file is kept as it was');
      assert.deepEqual(reg.pairs().map((x) => x.id), ['demo']);
      assert.ok(existsSync(file), 'a fresh registry was written');
    });
  }

  void test('a second corrupt file on the same timestamp does not overwrite the first one moved aside', (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, REGISTRY_FILE);
    writeFileSync(file, 'garbage 1');
    Registry.load(dir, () => {}, NOW);
    writeFileSync(file, 'garbage 2');
    const { problems, report } = collect();
    Registry.load(dir, report, NOW);
    assert.equal(problems[0]?.movedTo, `${file}.corrupt-2025-01-31T12-00-00-000Z-2`);
    assert.equal(readFileSync(`${file}.corrupt-2025-01-31T12-00-00-000Z`, 'utf8'), 'garbage 1');
  });
});

void describe('SettingsStore', () => {
  void test('defaults without a file, and a missing file stays missing until something changes', (t) => {
    const dir = tempDir(t);
    const s = SettingsStore.load(dir, () => assert.fail('no problem expected'), NOW);
    assert.deepEqual(s.get(), DEFAULT_SETTINGS);
    assert.equal(existsSync(path.join(dir, SETTINGS_FILE)), false);
    s.set({ theme: 'dark' });
    assert.deepEqual(SettingsStore.load(dir, () => {}, NOW).get(), { ...DEFAULT_SETTINGS, theme: 'dark' });
  });

  void test('a file missing a key (an older version) takes the default for it; unknown keys are ignored', (t) => {
    const dir = tempDir(t);
    writeFileSync(path.join(dir, SETTINGS_FILE), JSON.stringify({ historyRetentionDays: 30, futureKey: true }));
    const s = SettingsStore.load(dir, () => assert.fail('no problem expected'), NOW);
    assert.deepEqual(s.get(), { ...DEFAULT_SETTINGS, historyRetentionDays: 30 });
  });

  void test('invalid values are refused by set() and leave the file unchanged', (t) => {
    const dir = tempDir(t);
    const s = SettingsStore.load(dir, () => {}, NOW);
    s.set({ historyRetentionDays: 3 });
    assert.throws(() => s.set({ historyRetentionDays: 0 }));
    assert.throws(() => s.set({ theme: 'neon' as 'dark' }));
    assert.equal(s.get().historyRetentionDays, 3);
    assert.equal(SettingsStore.load(dir, () => {}, NOW).get().historyRetentionDays, 3);
  });

  for (const [what, content] of [
    ['not JSON', '{"theme": "dark"'],
    ['a wrongly typed value', JSON.stringify({ historyRetentionDays: 'forever' })],
    ['not an object', '[1, 2, 3]'],
  ] as const) {
    void test(`a settings file with ${what} is moved aside and reported; defaults apply`, (t) => {
      const dir = tempDir(t);
      const file = path.join(dir, SETTINGS_FILE);
      writeFileSync(file, content);
      const { problems, report } = collect();
      const s = SettingsStore.load(dir, report, NOW);
      assert.deepEqual(s.get(), DEFAULT_SETTINGS);
      assert.equal(problems.length, 1);
      assert.match(problems[0]!.message, /settings file/);
      assert.equal(readFileSync(problems[0]!.movedTo!, 'utf8'), content);
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), DEFAULT_SETTINGS);
    });
  }
});
