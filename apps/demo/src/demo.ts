import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { type FlatRatePlan, parsePlans } from '@tokenmeter/core';
import type { Store, UsageEvent } from '@tokenmeter/express';
import { createMetrics } from '@tokenmeter/express/metrics';
import { createSqliteStore } from '@tokenmeter/express/sqlite';
import OpenAI from 'openai';
import { createDemoApp, type DemoModels } from './app';
import { type FakeModel, startFakeModel } from './fake-model';
import { seedHistory } from './history';
import { DEMO_ROOT, loadPrompts } from './prompts';

export interface DemoOptions {
  /** Port to listen on; taken → a free port. Default 3000; 0 picks a free port. */
  port?: number;
  /** SQLite file. Default `apps/demo/data/tokenmeter.db`. */
  databasePath?: string;
  /** Seed simulated history (fake model only). Default true. */
  history?: boolean;
  /**
   * Keep what earlier runs recorded in the database. Default false: each run starts from an empty file, so
   * `--no-history` means no history and a second run the same day is not refused by budgets the first spent.
   */
  keepData?: boolean;
  /** Environment to read provider settings from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Pause between streamed chunks of the fake model, ms. */
  chunkDelayMs?: number;
  /** Sees every usage event the meter records (tests). */
  onEvent?: (event: UsageEvent) => void;
}

export interface RunningDemo {
  url: string;
  port: number;
  /** `fell back` when the requested port was taken. */
  portNote?: string;
  provider: string;
  models: DemoModels;
  store: Store;
  databasePath: string;
  /** Events seeded as history (0 when none). */
  historyEvents: number;
  close(): Promise<void>;
}

/** Each user's daily budget: small enough that the backfill script in the traffic burst runs into it. */
export const DEMO_BUDGETS = [{ scope: 'user' as const, limit: '0.05', window: 'day' as const }];

export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const env = options.env ?? process.env;
  const provider = chooseProvider(env);
  let fakeModel: FakeModel | undefined;
  let baseURL = provider.baseURL;
  if (provider.name === 'fake') {
    fakeModel = await startFakeModel({ chunkDelayMs: options.chunkDelayMs });
    baseURL = fakeModel.url;
  }
  const openai = new OpenAI({ apiKey: provider.apiKey, baseURL, maxRetries: 0 });

  const databasePath = options.databasePath ?? join(DEMO_ROOT, 'data', 'tokenmeter.db');
  mkdirSync(dirname(databasePath), { recursive: true });
  if (options.keepData !== true) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${databasePath}${suffix}`, { force: true });
  }
  const store = createSqliteStore({ path: databasePath });
  const metrics = createMetrics();
  const plans = loadPlans();

  const historyEvents =
    provider.name === 'fake' && options.history !== false ? await seedHistory(store, provider.models) : 0;
  const app = createDemoApp({
    store,
    openai,
    models: provider.models,
    prompts: loadPrompts(),
    budgets: DEMO_BUDGETS,
    plans,
    metrics,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });

  const requested = options.port ?? 3000;
  let server: Server;
  let portNote: string | undefined;
  try {
    server = await listen(app, requested);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    server = await listen(app, 0);
    portNote = `port ${requested} is taken; using a free port instead`;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    port,
    ...(portNote ? { portNote } : {}),
    provider: provider.label,
    models: provider.models,
    store,
    databasePath,
    historyEvents,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      await fakeModel?.close();
    },
  };
}

async function listen(app: ReturnType<typeof createDemoApp>, port: number): Promise<Server> {
  const server = app.listen(port);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  return server;
}

interface ProviderChoice {
  name: 'fake' | 'openai' | 'anthropic';
  label: string;
  apiKey: string;
  baseURL?: string;
  models: DemoModels;
}

/**
 * No configuration: the built-in fake model. `OPENAI_API_KEY` / `OPENAI_BASE_URL`: OpenAI or any
 * OpenAI-compatible server. `ANTHROPIC_API_KEY`: Claude through Anthropic's OpenAI-compatible endpoint,
 * so the app code stays the same. `DEMO_CHAT_MODEL`, `DEMO_SUMMARIZE_MODEL`, `DEMO_CODE_MODEL` override models.
 */
export function chooseProvider(env: Record<string, string | undefined>): ProviderChoice {
  const override = (models: DemoModels): DemoModels => ({
    chat: env.DEMO_CHAT_MODEL || models.chat,
    summarize: env.DEMO_SUMMARIZE_MODEL || models.summarize,
    codeHelper: env.DEMO_CODE_MODEL || models.codeHelper,
  });
  const openaiModels = { chat: 'gpt-4o-mini', summarize: 'gpt-4.1-mini', codeHelper: 'o4-mini' };
  if (env.OPENAI_API_KEY || env.OPENAI_BASE_URL) {
    const baseURL = env.OPENAI_BASE_URL || undefined;
    return {
      name: 'openai',
      label: baseURL ? `OpenAI-compatible API at ${baseURL}` : 'OpenAI API',
      apiKey: env.OPENAI_API_KEY || 'not-needed',
      ...(baseURL ? { baseURL } : {}),
      models: override(openaiModels),
    };
  }
  if (env.ANTHROPIC_API_KEY) {
    const model = 'claude-haiku-4-5';
    return {
      name: 'anthropic',
      label: 'Anthropic API (OpenAI-compatible endpoint)',
      apiKey: env.ANTHROPIC_API_KEY,
      baseURL: 'https://api.anthropic.com/v1/',
      models: override({ chat: model, summarize: model, codeHelper: 'claude-sonnet-4-6' }),
    };
  }
  return {
    name: 'fake',
    label: 'built-in offline fake model (no key, no network)',
    apiKey: 'fake-model-needs-no-key',
    models: override(openaiModels),
  };
}

function loadPlans(): FlatRatePlan[] {
  return parsePlans(readFileSync(join(DEMO_ROOT, 'plans.yaml'), 'utf8'));
}
