import type { KeyStore, VirtualKeyRecord } from '@tokenmeter/express';
import type { Command } from 'commander';
import { CliInputError, printJson, printLine, renderTable } from './output';

interface StoreOption {
  store: string;
  prefix?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

async function openKeyStore(options: StoreOption): Promise<KeyStore> {
  // A memory store dies with this command: a key made there could never be used.
  if (!options.store.startsWith('sqlite:') && !/^rediss?:\/\//.test(options.store)) {
    throw new CliInputError('--store must be sqlite:FILE or redis://… (the store the proxy runs with)');
  }
  const { keyStoreFromSpec } = await import('@tokenmeter/express/server');
  return keyStoreFromSpec(options.store, options.prefix ? { prefix: options.prefix } : {});
}

async function withKeyStore<T>(options: StoreOption, run: (store: KeyStore) => Promise<T>): Promise<T> {
  const store = await openKeyStore(options);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

/** What is shown of a key: never the key or its hash. */
function shown(record: VirtualKeyRecord) {
  return {
    id: record.id,
    user: record.user,
    tenant: record.tenant ?? null,
    models: record.models ?? null,
    budgets: record.budgets ?? null,
    name: record.name ?? null,
    createdAt: new Date(record.createdAt).toISOString(),
    revokedAt: record.revokedAt === undefined ? null : new Date(record.revokedAt).toISOString(),
  };
}

function storeOptions(command: Command): Command {
  return command
    .requiredOption('--store <spec>', 'where the proxy keeps its events: sqlite:FILE or redis://host:port')
    .option('--prefix <prefix>', 'Redis key prefix (default tokenmeter:)');
}

/** `tokenmeter keys create|list|revoke`: the virtual keys `tokenmeter proxy --virtual-keys` accepts. */
export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description('Manage virtual keys (tm_…) for `tokenmeter proxy --virtual-keys`: stored hashed, shown once');

  storeOptions(
    keys
      .command('create')
      .description('Make a key for a user; prints the key once (it cannot be shown again)')
      .requiredOption('--user <id>', 'who the key’s calls are attributed to (user budgets, usage per user)')
      .option('--tenant <id>', 'tenant of the key’s calls')
      .option('--model <name>', 'a model the key may call (exact, or a prefix ending in *); repeatable', collect, [])
      .option(
        '--budget <spec>',
        'a budget of this key alone, like 5/day or 100000tokens/month; repeatable',
        collect,
        [],
      )
      .option('--name <text>', 'a note for people (ci, alice laptop)')
      .option('--json', 'print JSON'),
  ).action(
    async (
      options: StoreOption & {
        user: string;
        tenant?: string;
        model: string[];
        budget: string[];
        name?: string;
        json?: boolean;
      },
    ) => {
      const { createVirtualKey } = await import('@tokenmeter/express');
      const { key, record } = await withKeyStore(options, (store) =>
        createVirtualKey(store, {
          user: options.user,
          ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
          ...(options.model.length > 0 ? { models: options.model } : {}),
          ...(options.budget.length > 0 ? { budgets: options.budget } : {}),
          ...(options.name === undefined ? {} : { name: options.name }),
        }),
      );
      if (options.json) {
        printJson({ key, ...shown(record) });
        return;
      }
      printLine(key);
      printLine(`id ${record.id} for user ${record.user}: give the key to its user now; only its hash is stored.`);
    },
  );

  storeOptions(keys.command('list').description('List keys (ids, users, limits; never the keys)'))
    .option('--json', 'print JSON')
    .action(async (options: StoreOption & { json?: boolean }) => {
      const records = await withKeyStore(options, async (store) => (await store.listKeys()).map(shown));
      if (options.json) {
        printJson(records);
        return;
      }
      if (records.length === 0) {
        printLine('No keys.');
        return;
      }
      printLine(
        renderTable(
          ['id', 'user', 'tenant', 'models', 'budgets', 'name', 'created', 'revoked'],
          records.map((record) => [
            record.id,
            record.user,
            record.tenant ?? '—',
            record.models?.join(' ') ?? 'any',
            record.budgets?.join(' ') ?? '—',
            record.name ?? '',
            record.createdAt.slice(0, 10),
            record.revokedAt?.slice(0, 10) ?? '',
          ]),
        ),
      );
    });

  storeOptions(
    keys.command('revoke').description('Revoke a key by id: its next call gets 401').argument('<id>'),
  ).action(async (id: string, options: StoreOption) => {
    const revoked = await withKeyStore(options, async (store) => store.revokeKey(id, Date.now()));
    if (!revoked) throw new CliInputError(`no key has the id ${JSON.stringify(id)} (see tokenmeter keys list)`);
    printLine(`revoked ${id}`);
  });
}
