import { readFile } from 'node:fs/promises';
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
  trustUserHeader?: string;
  trustTenantHeader?: string;
  userHeader?: string;
  tenantHeader?: string;
  gatewaySecret?: string;
  trustedAddress: string[];
  userFromKey?: boolean;
  virtualKeys?: boolean;
  providerKeys?: string;
  budget: string[];
  unpricedPolicy?: string;
  maxBodyBytes?: string;
  forwardUnmetered?: boolean;
  adminToken?: string;
  adminOpen?: boolean;
}

/** `--unpriced-policy refuse|allow|price-as:MODEL` as `unpricedPolicy` (the model is checked by the proxy). */
export function parseUnpricedPolicy(value: string): 'refuse' | 'allow' | { priceAs: string } {
  if (value === 'refuse' || value === 'allow') return value;
  const priceAs = /^price-as:(.+)$/.exec(value)?.[1]?.trim();
  if (priceAs) return { priceAs };
  throw new CliInputError(
    `--unpriced-policy must be refuse, allow or price-as:MODEL (e.g. price-as:gpt-4o), got ${JSON.stringify(value)}`,
  );
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
    .option(
      '--store <spec>',
      'memory, sqlite:FILE, redis://host:port, redis-cluster://host:port,… or postgres://…',
      'memory',
    )
    .option('--store-failure <mode>', 'when the store fails: open (serve, buffer events) or closed (503)', 'open')
    .option(
      '--trust-user-header <name>',
      'header naming the user, set by a gateway you trust (sent once, or 400; never a credential header)',
    )
    .option('--trust-tenant-header <name>', 'header naming the tenant, set by a gateway you trust')
    .option('--user-header <name>', 'deprecated: same as --trust-user-header')
    .option('--tenant-header <name>', 'deprecated: same as --trust-tenant-header')
    .option(
      '--gateway-secret <secret>',
      'secret the gateway sends in x-tokenmeter-gateway-secret (default: env TOKENMETER_GATEWAY_SECRET)',
    )
    .option(
      '--trusted-address <ip>',
      'address the gateway connects from; others get 401; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--user-from-key', 'attribute calls to a fingerprint of their API key (key:sha256:…), never the key')
    .option(
      '--virtual-keys',
      'clients use tokenmeter keys (tm_…, see tokenmeter keys create); the proxy calls upstream with the real keys',
    )
    .option(
      '--provider-keys <file>',
      'JSON {"openai": "...", "anthropic": "..."} with the real keys (default: env OPENAI_API_KEY, ANTHROPIC_API_KEY)',
    )
    .option(
      '--budget <spec>',
      'budget like 5/day, user:0.50/day, tenant:100000tokens/month, ~5/day (soft); repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--unpriced-policy <policy>',
      'models without a price under a USD budget: refuse (default), allow, or price-as:MODEL',
    )
    .option('--max-body-bytes <bytes>', 'largest request body accepted (default 10485760)')
    .option(
      '--forward-unmetered',
      'forward endpoints tokenmeter cannot meter (batches, images, audio, unknown paths) even under a budget',
    )
    .option(
      '--admin-token <token>',
      'bearer token for /tokenmeter/usage and /metrics (default: env TOKENMETER_ADMIN_TOKEN; none: they answer 401)',
    )
    .option('--admin-open', 'serve /tokenmeter/usage and /metrics to anyone without a token (private networks only)')
    .action(async (options: ProxyCommandOptions) => {
      const port = parseCount(options.port, '--port');
      if (port > 65_535) throw new CliInputError('--port must be at most 65535');
      if (options.storeFailure !== 'open' && options.storeFailure !== 'closed') {
        throw new CliInputError('--store-failure must be open or closed');
      }
      // The environment keeps the token out of `ps` and shell history; the flag wins when both are set.
      const adminToken = options.adminToken ?? (process.env.TOKENMETER_ADMIN_TOKEN || undefined);
      if (adminToken !== undefined && options.adminOpen) {
        throw new CliInputError('--admin-token and --admin-open exclude each other');
      }
      const userHeader = options.trustUserHeader ?? options.userHeader;
      const tenantHeader = options.trustTenantHeader ?? options.tenantHeader;
      const gatewaySecret = options.gatewaySecret ?? (process.env.TOKENMETER_GATEWAY_SECRET || undefined);
      const providerKeys = options.virtualKeys ? await readProviderKeys(options.providerKeys) : undefined;
      if (!options.virtualKeys && options.providerKeys) throw new CliInputError('--provider-keys needs --virtual-keys');
      const unpricedPolicy =
        options.unpricedPolicy === undefined ? undefined : parseUnpricedPolicy(options.unpricedPolicy);
      const { startProxy } = await import('@tokenmeter/express/server');
      const running = await startProxy({
        // The catalog the CLI loaded: refreshed prices when cached, with the --prices overrides on top.
        catalog: PriceCatalog.default(),
        port,
        host: options.host,
        upstream: options.upstream,
        ...(options.anthropicUpstream ? { anthropicUpstream: options.anthropicUpstream } : {}),
        store: options.store,
        storeFailure: options.storeFailure,
        ...(userHeader ? { trustUserHeader: userHeader } : {}),
        ...(tenantHeader ? { trustTenantHeader: tenantHeader } : {}),
        ...(gatewaySecret ? { gatewaySecret } : {}),
        ...(options.trustedAddress.length > 0 ? { trustedAddresses: options.trustedAddress } : {}),
        ...(options.userFromKey ? { userFromKey: true } : {}),
        ...(providerKeys ? { virtualKeys: true, providerKeys } : {}),
        ...(options.budget.length > 0 ? { budgets: options.budget } : {}),
        ...(unpricedPolicy === undefined ? {} : { unpricedPolicy }),
        ...(options.maxBodyBytes ? { maxBodyBytes: parseCount(options.maxBodyBytes, '--max-body-bytes') } : {}),
        ...(options.forwardUnmetered ? { forwardUnmetered: true } : {}),
        ...(adminToken !== undefined ? { adminToken } : {}),
        ...(options.adminOpen ? { adminOpen: true } : {}),
      });
      printLine(`tokenmeter proxy listening on ${running.url}`);
      printLine(`  OpenAI SDKs:    baseURL ${running.url}/v1   → ${options.upstream}`);
      printLine(`  Anthropic SDKs: baseURL ${running.url}      → ${options.anthropicUpstream}`);
      printLine(`  usage: ${running.url}/tokenmeter/usage   metrics: ${running.url}/metrics`);
      if (providerKeys) {
        const held = [providerKeys.openai ? 'OpenAI' : '', providerKeys.anthropic ? 'Anthropic' : ''].filter(Boolean);
        printLine(`  virtual keys on: clients send tm_… keys; upstream calls use the ${held.join(' and ')} key`);
      }
      printLine(
        adminToken !== undefined
          ? '  usage and metrics need Authorization: Bearer <admin token>'
          : options.adminOpen
            ? '  usage and metrics are open to anyone who can reach this address (--admin-open)'
            : '  usage and metrics are closed: start with --admin-token or TOKENMETER_ADMIN_TOKEN to read them',
      );
      const prices = activeCatalog();
      if (prices) printLine(`  prices: ${describeCatalog(prices)}`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      printLine(`${signal}: finishing requests in flight and flushing usage events…`);
      const report = await running.close();
      if (report.eventsLost > 0) {
        // Said once and only this way: the store was down, these events are gone.
        process.stderr.write(
          `tokenmeter proxy stopped; ${report.eventsLost} usage events were lost (the store was down).\n`,
        );
        process.exitCode = 1;
      } else {
        printLine(
          `tokenmeter proxy stopped; every recorded event was flushed` +
            (report.eventsFlushed > 0 ? ` (${report.eventsFlushed} held during a store outage).` : '.'),
        );
      }
    });
}

/**
 * The real provider keys: a JSON file, else the providers' usual environment variables. Errors never quote
 * the file (it holds secrets).
 */
async function readProviderKeys(file: string | undefined): Promise<{ openai?: string; anthropic?: string }> {
  let keys: Record<string, unknown>;
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new CliInputError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    try {
      keys = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new CliInputError(`${file} is not valid JSON (expected {"openai": "...", "anthropic": "..."})`);
    }
    if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
      throw new CliInputError(`${file} must hold a JSON object {"openai": "...", "anthropic": "..."}`);
    }
    for (const name of Object.keys(keys)) {
      if ((name !== 'openai' && name !== 'anthropic') || typeof keys[name] !== 'string' || keys[name] === '') {
        throw new CliInputError(`${file}: expected only "openai" and "anthropic", each a non-empty string`);
      }
    }
  } else {
    keys = {
      ...(process.env.OPENAI_API_KEY ? { openai: process.env.OPENAI_API_KEY } : {}),
      ...(process.env.ANTHROPIC_API_KEY ? { anthropic: process.env.ANTHROPIC_API_KEY } : {}),
    };
  }
  if (!keys.openai && !keys.anthropic) {
    throw new CliInputError(
      '--virtual-keys needs the real keys: OPENAI_API_KEY / ANTHROPIC_API_KEY or --provider-keys FILE',
    );
  }
  return keys as { openai?: string; anthropic?: string };
}
