// Says why tests were skipped, once per reason, at the end of the run: the list reporter shows a skipped test as
// a dash and nothing more, and a skip must never be silent (the Electron project without its binary, say).

import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';

export default class SkipReasons implements Reporter {
  private readonly reasons = new Map<string, number>();

  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.status !== 'skipped') return;
    const project = test.parent.project()?.name ?? '?';
    const why = [...result.annotations, ...test.annotations].find((a) => a.type === 'skip')?.description ?? 'no reason given';
    const key = `[${project}] ${why}`;
    this.reasons.set(key, (this.reasons.get(key) ?? 0) + 1);
  }

  onEnd(_result: FullResult): void {
    if (this.reasons.size === 0) return;
    console.log('\nSkipped:');
    for (const [key, n] of this.reasons) console.log(`  ${n} test${n === 1 ? '' : 's'} ${key}`);
  }

  printsToStdio(): boolean {
    return true;
  }
}
