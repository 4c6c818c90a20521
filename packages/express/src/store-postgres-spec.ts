import { InvalidMeterOptionsError } from './invalid-meter-options-error';
import { createPostgresStore, type PostgresStore } from './store-postgres';

/**
 * `postgres://user:password@host:5432/db?schema=NAME&tablePrefix=PREFIX`: the two tokenmeter parameters are
 * taken out of the URL (pg would pass unknown parameters on to the server); everything else is pg's.
 */
export function postgresStoreFromUrl(spec: string): PostgresStore {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new InvalidMeterOptionsError('store', 'postgres://… is not a valid URL');
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  const tablePrefix = url.searchParams.get('tablePrefix') ?? undefined;
  url.searchParams.delete('schema');
  url.searchParams.delete('tablePrefix');
  try {
    return createPostgresStore({
      connectionString: url.toString(),
      ...(schema === undefined ? {} : { schema }),
      ...(tablePrefix === undefined ? {} : { tablePrefix }),
    });
  } catch (error) {
    throw new InvalidMeterOptionsError('store', error instanceof Error ? error.message : String(error));
  }
}
