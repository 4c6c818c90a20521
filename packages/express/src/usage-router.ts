import { type Request, type Response, Router } from 'express';
import { startOfLocalDay } from './budget-window';
import { InvalidUsageQueryError } from './invalid-usage-query-error';
import { loopbackOnly } from './loopback';
import { StoreUnavailableError } from './store-unavailable-error';
import type { Store, UsageGroupBy, UsageQuery } from './types';
import { normalizeQuery, USAGE_GROUP_BYS } from './usage-aggregate';

export interface UsageRouterOptions {
  store: Store;
  /**
   * Who may read usage (it names users and what they spent). Return false to refuse: 403 when the request
   * carried an `Authorization` header, 401 otherwise. Default: `loopbackOnly`, requests made on this machine directly
   * (loopback, and no `Forwarded` / `X-Forwarded-For` / `X-Real-IP`: a reverse proxy on the same host
   * would otherwise make everyone local). `adminAuthorize({ token })` checks a bearer token.
   */
  authorize?: (req: Request) => boolean | Promise<boolean>;
}

function single(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidUsageQueryError(`${name} must be given once`);
  return value;
}

/**
 * Parses `from` / `to`: a date (`2026-03-10`, the start of that local day in the query's time zone; for
 * `to` the day is included, so it means the start of the next day), an ISO date-time with an offset
 * (`2026-03-10T12:00:00Z`), or milliseconds since the epoch.
 */
function parseInstant(text: string, name: string, timeZone: string, endOfDay: boolean): number {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (date) {
    const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const check = new Date(Date.UTC(year, month - 1, day));
    if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
      throw new InvalidUsageQueryError(`${name} is not a calendar date: ${JSON.stringify(text)}`);
    }
    const next = new Date(Date.UTC(year, month - 1, day + 1));
    return endOfDay
      ? startOfLocalDay(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone)
      : startOfLocalDay(year, month, day, timeZone);
  }
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const instant = Date.parse(text);
    if (Number.isFinite(instant)) return instant;
  }
  throw new InvalidUsageQueryError(
    `${name} must be a date (YYYY-MM-DD), an ISO date-time with offset, or epoch milliseconds; got ${JSON.stringify(text.slice(0, 40))}`,
  );
}

function readQuery(req: Request, allowGroupBy: boolean): UsageQuery {
  const timeZone = single(req, 'timeZone') ?? 'UTC';
  // Validates the zone before dates are resolved in it.
  normalizeQuery({ timeZone });
  const query: UsageQuery = { timeZone };
  const from = single(req, 'from');
  const to = single(req, 'to');
  if (from !== undefined) query.from = parseInstant(from, 'from', timeZone, false);
  if (to !== undefined) query.to = parseInstant(to, 'to', timeZone, true);
  if (allowGroupBy) {
    const groupBy = single(req, 'groupBy');
    if (groupBy !== undefined) {
      if (!USAGE_GROUP_BYS.includes(groupBy as UsageGroupBy)) {
        throw new InvalidUsageQueryError(`groupBy must be one of ${USAGE_GROUP_BYS.join(', ')}`);
      }
      query.groupBy = groupBy as UsageGroupBy;
    }
  }
  const filter: NonNullable<UsageQuery['filter']> = {};
  for (const name of ['user', 'tenant', 'model', 'route'] as const) {
    const value = single(req, name);
    if (value !== undefined) filter[name] = value;
  }
  if (Object.keys(filter).length > 0) query.filter = filter;
  normalizeQuery(query);
  return query;
}

function fail(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { type: code.toLowerCase(), code, message } });
}

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The usage API: `GET /usage` → `UsageReport` JSON (`from`, `to`, `groupBy`, `timeZone`, `user`, `tenant`,
 * `model`, `route`); `GET /usage/daily` → the planner's daily series as JSON or CSV (`format=csv`,
 * columns `date,requests,inputTokens,outputTokens,cost`). Bad parameters → 400, refused → 401/403, store
 * down → 503. Costs are exact decimal strings.
 */
export function usageRouter(options: UsageRouterOptions): Router {
  const { store } = options;
  const authorize = options.authorize ?? loopbackOnly;
  const router = Router();

  // Scoped to the router's own paths: mounted at the app root, it must not gate the rest of the app.
  router.use(['/usage', '/usage/daily'], async (req, res, next) => {
    try {
      if (await authorize(req)) {
        next();
        return;
      }
    } catch {
      // A throwing authorize refuses, like false.
    }
    if (req.headers.authorization === undefined) fail(res, 401, 'UNAUTHORIZED', 'Authentication required.');
    else fail(res, 403, 'FORBIDDEN', 'Not allowed to read usage.');
  });

  async function answer(res: Response, produce: () => Promise<void>): Promise<void> {
    try {
      await produce();
    } catch (error) {
      if (error instanceof InvalidUsageQueryError) fail(res, 400, error.code, error.message);
      else if (error instanceof StoreUnavailableError) fail(res, 503, error.code, error.message);
      else fail(res, 500, 'INTERNAL', 'The usage store failed to answer.');
    }
  }

  router.get('/usage', (req, res) =>
    answer(res, async () => {
      const report = await store.query(readQuery(req, true));
      res.json(report);
    }),
  );

  router.get('/usage/daily', (req, res) =>
    answer(res, async () => {
      const format = single(req, 'format') ?? 'json';
      if (format !== 'json' && format !== 'csv') throw new InvalidUsageQueryError('format must be json or csv');
      const series = await store.dailySeries(readQuery(req, false));
      if (format === 'json') {
        res.json(series);
        return;
      }
      const lines = ['date,requests,inputTokens,outputTokens,cost'];
      for (const day of series) {
        lines.push([day.date, day.requests, day.inputTokens, day.outputTokens, day.cost].map(csvField).join(','));
      }
      res.type('text/csv').send(`${lines.join('\n')}\n`);
    }),
  );

  return router;
}
