import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { Money } from '@tokenmeter/core';
import type { DashboardSummary, UsageGroup } from '@tokenmeter/express';
import { type RunningDemo, startDemo } from './demo';
import { DEMO_ROOT } from './prompts';
import { progressBar, renderTable, type Style, styleFor } from './terminal';
import { driveTraffic, type TrafficResult } from './traffic';
import { DEMO_USERS } from './users';

const HELP = `Usage: pnpm demo [-- options]

Starts the support-assistant demo metered by tokenmeter, sends a short burst of traffic, prints what it
cost, and keeps serving the dashboard.

Options:
  --no-traffic          start the server only
  --exit-after-traffic  stop after the summary (for scripts and tests)
  --no-history          do not seed the simulated 20-day history
  --keep-data           keep what earlier runs recorded (default: every run starts from an empty database)
  --db PATH             SQLite file (default apps/demo/data/tokenmeter.db)
  -h, --help            this text

Environment: PORT (default 3000), OPENAI_API_KEY / OPENAI_BASE_URL or ANTHROPIC_API_KEY for a real provider.`;

async function main(): Promise<number> {
  let values: {
    traffic?: boolean;
    'exit-after-traffic'?: boolean;
    history?: boolean;
    'keep-data'?: boolean;
    db?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      // `pnpm demo -- --flag` hands the `--` through to the script: it separates nothing here.
      args: process.argv.slice(2).filter((argument) => argument !== '--'),
      options: {
        traffic: { type: 'boolean', default: true },
        'exit-after-traffic': { type: 'boolean', default: false },
        history: { type: 'boolean', default: true },
        'keep-data': { type: 'boolean', default: false },
        db: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowNegative: true,
    }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const port = process.env.PORT === undefined || process.env.PORT === '' ? 3000 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}\n`);
    return 2;
  }

  const out = styleFor(process.stdout);
  const demo = await startDemo({
    port,
    history: values.history,
    keepData: values['keep-data'],
    ...(values.db ? { databasePath: values.db } : {}),
  });
  const stop = async () => {
    await demo.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const lines = [
    out.bold('tokenmeter demo: a support assistant metered in-app by @tokenmeter/express'),
    `  model provider   ${demo.provider}`,
    `  models           chat ${demo.models.chat} · summarize ${demo.models.summarize} · code helper ${demo.models.codeHelper}`,
    `  listening        ${demo.url}${demo.portNote ? `  (${demo.portNote})` : ''}`,
    `  store            ${demo.store.name} ${relative(join(DEMO_ROOT, '..', '..'), demo.databasePath)} ` +
      (values['keep-data'] ? '(with earlier runs)' : '(fresh; --keep-data keeps earlier runs)'),
  ];
  if (demo.historyEvents > 0)
    lines.push(
      `  history          20 simulated days (${demo.historyEvents.toLocaleString('en-US')} events) so the projection has a series; --no-history to skip`,
    );
  process.stdout.write(`${lines.join('\n')}\n\n`);

  if (values.traffic) {
    const started = Date.now();
    const bar = progressBar(process.stderr, 'Sending traffic from 5 users');
    const result = await driveTraffic(demo.url, { onProgress: (done, total) => bar.update(done, total) });
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`\n${await summary(demo, result, started, seconds, out)}\n`);
  }

  if (values['exit-after-traffic']) {
    await demo.close();
    return 0;
  }
  process.stdout.write(
    `\n${out.bold('Dashboard:')} ${demo.url}/dashboard/\n` +
      `Usage API: ${demo.url}/usage?groupBy=user   Metrics: ${demo.url}/metrics\n` +
      `Try it:    curl -N ${demo.url}/api/chat -H 'x-api-key: demo-key-alice' -H 'content-type: application/json' \\\n` +
      `             -d '{"messages":[{"role":"user","content":"How do I export a notebook?"}]}'\n` +
      'Press Ctrl+C to stop.\n',
  );
  return -1;
}

async function summary(
  demo: RunningDemo,
  result: TrafficResult,
  from: number,
  seconds: number,
  style: Style,
): Promise<string> {
  const query = (groupBy: 'user' | 'route' | 'model') => demo.store.query({ from, groupBy });
  const [byUser, byRoute, byModel] = await Promise.all([query('user'), query('route'), query('model')]);
  const parts: string[] = [];
  parts.push(
    `${style.bold('Traffic')}: ${result.sent} requests from ${DEMO_USERS.length} users in ${seconds.toFixed(1)} s — ` +
      `${result.ok} answered, ${result.rejected} refused by the daily budget (HTTP 429), ${result.cut} streamed reply closed halfway by the client` +
      (result.failed ? `, ${result.failed} failed (${JSON.stringify(result.failures)})` : ''),
  );
  const table = (title: string, name: string, groups: UsageGroup[]) =>
    `${style.bold(title)}\n${renderTable(
      [name, 'requests', 'rejected', 'input', 'cached', 'output', 'reasoning', 'cost'],
      [...groups]
        .sort((a, b) => Money.from(b.cost).compare(Money.from(a.cost)))
        .map((group) => [
          group.key,
          String(group.requests),
          String(group.rejectedRequests),
          group.inputTokens.toLocaleString('en-US'),
          group.cachedInputTokens.toLocaleString('en-US'),
          group.outputTokens.toLocaleString('en-US'),
          group.reasoningTokens.toLocaleString('en-US'),
          `$${Money.from(group.cost).toFixed(4)}${group.estimatedRequests ? ' *' : ''}`,
        ]),
      style,
    )}`;
  parts.push(table('Cost by user (this run)', 'user', byUser.groups));
  parts.push(table('Cost by route', 'route', byRoute.groups));
  parts.push(table('Cost by model', 'model', byModel.groups));
  const estimated = byUser.totals.estimatedRequests;
  parts.push(
    `Total this run: $${Money.from(byUser.totals.cost).toFixed(4)} for ${byUser.totals.requests} metered calls` +
      (estimated ? ` (* includes ${estimated} estimated: a stream cut before the provider reported usage)` : ''),
  );
  const plan = await planSummary(demo);
  if (plan) parts.push(plan);
  return parts.join('\n\n');
}

/** The same projection and advice the dashboard shows, read from its JSON endpoint. */
async function planSummary(demo: RunningDemo): Promise<string | undefined> {
  try {
    const response = await fetch(`${demo.url}/dashboard/api/summary`);
    if (!response.ok) return undefined;
    const data = (await response.json()) as DashboardSummary;
    const plan = data.plan;
    const lines = [];
    if (plan.p50 && plan.p95) {
      lines.push(
        `Projected month (${plan.historyDays} days measured): ${plan.p50.costDisplay} at p50, ${plan.p95.costDisplay} at p95 ` +
          `(${Math.round(plan.p50.tokens).toLocaleString('en-US')}–${Math.round(plan.p95.tokens).toLocaleString('en-US')} tokens)`,
      );
    }
    for (const option of plan.options)
      lines.push(
        `  ${option.name.padEnd(34)} ${option.p50Display.padStart(10)} at p50  ${option.p95Display.padStart(10)} at p95`,
      );
    lines.push(`Per token or flat rate? ${plan.advice}`);
    return lines.join('\n');
  } catch {
    return undefined;
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
