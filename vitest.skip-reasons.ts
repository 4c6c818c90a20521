import type { Reporter, TestModule } from 'vitest/node';

/**
 * Names every skipped test at the end of a run. The default summary only counts them ("3 skipped"); a skip
 * that hides a missing browser or missing data must say so where CI readers look. Skipped suites carry their
 * reason in their name (`… (skipped: no Chromium at …)`), so the full name is the reason.
 */
export class SkipReasons implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        if (test.result().state === 'skipped')
          skipped.push(`${module.moduleId.split('/').slice(-2).join('/')} > ${test.fullName}`);
      }
    }
    if (skipped.length === 0) return;
    process.stdout.write(
      `\nSkipped (${skipped.length}), and why:\n${skipped.map((name) => `  - ${name}`).join('\n')}\n`,
    );
  }
}
