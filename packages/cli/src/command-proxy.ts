import { PriceCatalog } from '@tokenmeter/core';
import type { Command } from 'commander';
import { activeCatalog, describeCatalog } from './command-prices';
import { CliInputError, parseCount, printLine } from './output';

interface ProxyCommandOptions {
  port: string;
  host: string;
  upstream: string;
  anthropicUpstream?: string;
  store: string;
  storeFailure: string;
  userHeader?: string;
  tenantHeader?: string;
  budget: string[];
  maxBodyBytes?: string;
}

/** `tokenmeter proxy`: the metered proxy of @tokenmeter/express as a standalone gateway for any language. */
export function register(program: Command): void {
  program
    .command('proxy')
    .description('Run a metering gateway: OpenAI-compatible routes under /v1, Anthropic at /v1/messages')
    .option('--port <port>', 'port to listen on', '8787')
    .option('--host <host>', 'address to listen on (0.0.0.0 to serve other machines)', '127.0.0.1')
    .option('--upstream <url>', 'OpenAI-compatible base URL, /v1 included', 'https://api.openai.com/v1')
    .option('--anthropic-upstream <url>', 'Anthropic base URL', 'https://api.anthropic.com')
    .option('--store <spec>', 'memory, sqlite:FILE or redis://host:port', 'memory')
    .option('--store-failure <mode>', 'when the store fails: open (serve, buffer events) or closed (503)', 'open')
    .option('--user-header <name>', 'request header that names the user (attribution, user budgets)')
    .option('--tenant-header <name>', 'request header that names the tenant')
    .option(
      '--budget <spec>',
      'budget like 5/day, user:0.50/day, tenant:100000tokens/month, ~5/day (soft); repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--max-body-bytes <bytes>', 'largest request body accepted (default 10485760)')
    .action(async (options: ProxyCommandOptions) => {
      const port = parseCount(options.port, '--port');
      if (port > 65_535) throw new CliInputError('--port must be at most 65535');
      if (options.storeFailure !== 'open' && options.storeFailure !== 'closed') {
        throw new CliInputError('--store-failure must be open or closed');
      }
      const { startProxy } = await import('@tokenmeter/express');
      const running = await startProxy({
        // The catalog the CLI loaded: refreshed prices when cached, with the --prices overrides on top.
        catalog: PriceCatalog.default(),
        port,
        host: options.host,
        upstream: options.upstream,
        ...(options.anthropicUpstream ? { anthropicUpstream: options.anthropicUpstream } : {}),
        store: options.store,
        storeFailure: options.storeFailure,
        ...(options.userHeader ? { userHeader: options.userHeader } : {}),
        ...(options.tenantHeader ? { tenantHeader: options.tenantHeader } : {}),
        ...(options.budget.length > 0 ? { budgets: options.budget } : {}),
        ...(options.maxBodyBytes ? { maxBodyBytes: parseCount(options.maxBodyBytes, '--max-body-bytes') } : {}),
      });
      printLine(`tokenmeter proxy listening on ${running.url}`);
      printLine(`  OpenAI SDKs:    baseURL ${running.url}/v1   → ${options.upstream}`);
      printLine(`  Anthropic SDKs: baseURL ${running.url}      → ${options.anthropicUpstream}`);
      printLine(`  usage: ${running.url}/tokenmeter/usage   metrics: ${running.url}/metrics`);
      const prices = activeCatalog();
      if (prices) printLine(`  prices: ${describeCatalog(prices)}`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      printLine(`${signal}: finishing requests in flight and flushing usage events…`);
      await running.close();
      printLine('tokenmeter proxy stopped; every recorded event was flushed.');
    });
}
