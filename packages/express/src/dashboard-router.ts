import { Money } from '@tokenmeter/core';
import { type Request, type Response, Router } from 'express';
import { applicableBudgets } from './budget-enforcer';
import { type BudgetRule, formatBudgetAmount, parseBudgetRules } from './budget-rules';
import { calendarWindow, localDate, localDateKey, localHourKey, startOfLocalDay } from './budget-window';
import { dashboardHtml, dashboardScript, dashboardStyles } from './dashboard-assets';
import { displayUsd } from './dashboard-format';
import { buildPlanView, type DashboardPlan, type PlanView } from './dashboard-plan';
import { InvalidDashboardOptionsError } from './invalid-dashboard-options-error';
import type { MeterOptions } from './meter-options';
import type { Store, UsageGroup, UsageTotals } from './types';

/** The budgets to show: the same value given to `meter({ budgets })` (rule objects or shorthands like `'user:0.50/day'`). */
export type DashboardBudgets = MeterOptions['budgets'];

export interface DashboardOptions {
  store: Store;
  /** Decides who may see the dashboard and its data; `false` answers 403. Required: spend is sensitive. */
  authorize: (request: Request) => boolean | Promise<boolean>;
  /** Flat-rate plans to compare with pay-per-token, as data (see the planner's plan format). Default: none. */
  plans?: DashboardPlan[];
  /** The budgets the app's meter enforces, to show each subject's use of them. Default: none. */
  budgets?: DashboardBudgets;
  /** Page title. Default `"tokenmeter"`. */
  title?: string;
  /** Time zone for days and hours. Default `UTC`. */
  timeZone?: string;
  /** Days of history shown. Default 30. */
  days?: number;
  /** Rows per breakdown before the rest fold into "others". Default 6. */
  topN?: number;
  /** How often the page polls, in seconds. Default 5. */
  refreshSeconds?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

interface TotalsView extends UsageTotals {
  costDisplay: string;
  tokens: number;
}

interface BreakdownRow {
  key: string;
  others?: true;
  requests: number;
  tokens: number;
  cost: string;
  costDisplay: string;
  rejectedRequests: number;
  /** Calls to models without a price: their cost is unknown (not $0) and not in `cost`. */
  unpricedRequests: number;
  /** Share of the period's cost (of its tokens when nothing was priced), for bar widths only. */
  share: number;
}

/** The JSON the dashboard page polls (`GET <mount>/api/summary`). Money as exact decimal strings. */
export interface DashboardSummary {
  title: string;
  generatedAt: string;
  timeZone: string;
  range: { from: string; to: string; days: number };
  kpis: { today: TotalsView; month: TotalsView; range: TotalsView };
  daily: { date: string; requests: number; tokens: number; cost: string; costDisplay: string }[];
  hourly: { label: string; requests: number; cost: string; costDisplay: string; current: boolean }[];
  byModel: { groups: number; days: number; rows: BreakdownRow[] };
  byRoute: { groups: number; days: number; rows: BreakdownRow[] };
  byUser: { groups: number; days: number; rows: BreakdownRow[] };
  tokens: { bucket: string; label: string; tokens: number }[];
  budgets: {
    subject: string;
    period: string;
    unit: 'usd' | 'tokens';
    used: string;
    usedDisplay: string;
    limit: string;
    limitDisplay: string;
    fraction: number;
    rejected: number;
  }[];
  /** Budget rules given to the dashboard (rows list only subjects with use or refusals). */
  budgetRules: number;
  rejected: { requests: number; byUser: { key: string; requests: number }[] };
  /** Calls to models without a price in the range, by model (every such model, most calls first). */
  unpriced: { requests: number; byModel: { key: string; requests: number }[] };
  plan: PlanView;
}

const DAY_MS = 86_400_000;

/**
 * The cost dashboard: one HTML page, one script and one stylesheet bundled in the package (no CDN, works
 * offline), and the JSON it polls. Mount it where you like: `app.use('/dashboard', dashboardRouter(…))`.
 */
export function dashboardRouter(options: DashboardOptions): Router {
  const config = parseOptions(options);
  const router = Router();

  router.use(async (req, res, next) => {
    let allowed = false;
    try {
      allowed = (await config.authorize(req)) === true;
    } catch {
      // A throwing check refuses, like false (as the usage API does).
    }
    if (allowed) return next();
    res.status(403).type('text/plain').send('Forbidden: this dashboard needs authorization.');
  });

  router.get('/', (req, res) => {
    const path = req.originalUrl.split('?')[0] ?? '';
    // Relative asset URLs need the trailing slash; redirect once rather than guess the mount point.
    if (!path.endsWith('/')) {
      const query = req.originalUrl.slice(path.length);
      return res.redirect(301, `${path}/${query}`);
    }
    const base = escapeHtml(req.baseUrl);
    const html = dashboardHtml
      .replaceAll('%TITLE%', escapeHtml(config.title))
      .replaceAll('%BASE%', base)
      .replaceAll('%REFRESH%', String(config.refreshSeconds));
    setSecurityHeaders(res);
    res.type('html').set('Cache-Control', 'no-store').send(html);
  });

  router.get('/dashboard.js', (_req, res) => {
    setSecurityHeaders(res);
    res.type('application/javascript').set('Cache-Control', 'no-cache').send(dashboardScript);
  });

  router.get('/dashboard.css', (_req, res) => {
    setSecurityHeaders(res);
    res.type('text/css').set('Cache-Control', 'no-cache').send(dashboardStyles);
  });

  router.get('/api/summary', async (_req, res, next) => {
    try {
      const summary = await buildSummary(config, config.now());
      res.set('Cache-Control', 'no-store').json(summary);
    } catch (error) {
      next(error);
    }
  });

  return router;
}

type Config = Required<Omit<DashboardOptions, 'plans' | 'budgets'>> & {
  plans: DashboardPlan[];
  budgets: BudgetRule[];
};

function parseOptions(options: DashboardOptions): Config {
  if (!options || typeof options !== 'object') throw new InvalidDashboardOptionsError('options are required');
  const { store, authorize } = options;
  if (!store || typeof store.query !== 'function' || typeof store.dailySeries !== 'function') {
    throw new InvalidDashboardOptionsError(
      'store must be a tokenmeter Store (createMemoryStore(), createSqliteStore()…)',
    );
  }
  if (typeof authorize !== 'function') {
    throw new InvalidDashboardOptionsError(
      'authorize must be a function (request) => boolean; pass () => true only for a local demo',
    );
  }
  const days = options.days ?? 30;
  if (!Number.isInteger(days) || days < 1 || days > 366) {
    throw new InvalidDashboardOptionsError('days must be a whole number from 1 to 366');
  }
  const topN = options.topN ?? 6;
  if (!Number.isInteger(topN) || topN < 1) throw new InvalidDashboardOptionsError('topN must be a positive integer');
  const refreshSeconds = options.refreshSeconds ?? 5;
  if (!(refreshSeconds >= 1)) throw new InvalidDashboardOptionsError('refreshSeconds must be at least 1');
  const timeZone = options.timeZone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new InvalidDashboardOptionsError(`unknown time zone ${JSON.stringify(timeZone)}`);
  }
  let budgets: BudgetRule[];
  try {
    budgets = parseBudgetRules(options.budgets);
  } catch (error) {
    throw new InvalidDashboardOptionsError(error instanceof Error ? error.message : String(error));
  }
  return {
    store,
    authorize,
    plans: options.plans ?? [],
    budgets,
    title: options.title ?? 'tokenmeter',
    timeZone,
    days,
    topN,
    refreshSeconds,
    now: options.now ?? Date.now,
  };
}

/** Everything the page shows, from a handful of store aggregates. */
export async function buildSummary(config: Config, now: number): Promise<DashboardSummary> {
  const { store, timeZone, days } = config;
  const today = localDate(now, timeZone);
  const todayStart = startOfLocalDay(today.year, today.month, today.day, timeZone);
  const monthStart = startOfLocalDay(today.year, today.month, 1, timeZone);
  const firstDay = new Date(Date.UTC(today.year, today.month - 1, today.day - (days - 1)));
  const rangeStart = startOfLocalDay(
    firstDay.getUTCFullYear(),
    firstDay.getUTCMonth() + 1,
    firstDay.getUTCDate(),
    timeZone,
  );
  const to = now + 1;

  const [todayReport, monthReport, byModel, byRoute, byUser, byDay, byHour] = await Promise.all([
    store.query({ from: todayStart, to, timeZone }),
    store.query({ from: monthStart, to, timeZone }),
    store.query({ from: rangeStart, to, timeZone, groupBy: 'model' }),
    store.query({ from: rangeStart, to, timeZone, groupBy: 'route' }),
    store.query({ from: rangeStart, to, timeZone, groupBy: 'user' }),
    store.query({ from: rangeStart, to, timeZone, groupBy: 'day' }),
    store.query({ from: todayStart, to, timeZone, groupBy: 'hour' }),
  ]);
  const rangeTotals = byModel.totals;

  const dayGroups = new Map(byDay.groups.map((group) => [group.key, group]));
  const daily: DashboardSummary['daily'] = [];
  for (let index = 0; index < days; index++) {
    const date = new Date(firstDay.getTime() + index * DAY_MS).toISOString().slice(0, 10);
    const group = dayGroups.get(date);
    const cost = group ? Money.from(group.cost) : Money.ZERO;
    daily.push({
      date,
      requests: group?.requests ?? 0,
      tokens: group ? tokensOf(group) : 0,
      cost: cost.toString(),
      costDisplay: displayUsd(cost),
    });
  }

  const todayKey = localDateKey(now, timeZone);
  const currentHour = localHourKey(now, timeZone);
  const hourGroups = new Map(byHour.groups.map((group) => [group.key, group]));
  const hourly: DashboardSummary['hourly'] = [];
  for (let hour = 0; hour < 24; hour++) {
    const key = `${todayKey}T${String(hour).padStart(2, '0')}`;
    const group = hourGroups.get(key);
    const cost = group ? Money.from(group.cost) : Money.ZERO;
    hourly.push({
      label: `${String(hour).padStart(2, '0')}:00`,
      requests: group?.requests ?? 0,
      cost: cost.toString(),
      costDisplay: displayUsd(cost),
      current: key === currentHour,
    });
  }

  const budgets = await budgetRows(config, now, rangeStart);
  const rejectedByUser = byUser.groups
    .filter((group) => group.rejectedRequests > 0)
    .sort((a, b) => b.rejectedRequests - a.rejectedRequests)
    .map((group) => ({ key: group.key, requests: group.rejectedRequests }));

  const unpricedByModel = byModel.groups
    .filter((group) => group.unpricedRequests > 0)
    .sort((a, b) => b.unpricedRequests - a.unpricedRequests || (a.key < b.key ? -1 : 1))
    .map((group) => ({ key: group.key, requests: group.unpricedRequests }));

  const series = await store.dailySeries({ from: rangeStart, to, timeZone });
  const plan = buildPlanView({ series, plans: config.plans, today: todayKey });

  return {
    title: config.title,
    generatedAt: new Date(now).toISOString(),
    timeZone,
    range: { from: new Date(rangeStart).toISOString(), to: new Date(now).toISOString(), days },
    kpis: {
      today: totalsView(todayReport.totals),
      month: totalsView(monthReport.totals),
      range: totalsView(rangeTotals),
    },
    daily,
    hourly,
    byModel: breakdown(byModel.groups, rangeTotals, config.topN, days),
    byRoute: breakdown(byRoute.groups, rangeTotals, config.topN, days),
    byUser: breakdown(byUser.groups, rangeTotals, config.topN, days),
    tokens: [
      { bucket: 'input', label: 'Input (uncached)', tokens: rangeTotals.inputTokens },
      { bucket: 'cached', label: 'Cached input', tokens: rangeTotals.cachedInputTokens },
      { bucket: 'cacheWrite', label: 'Cache writes', tokens: rangeTotals.cacheWriteTokens },
      { bucket: 'output', label: 'Output', tokens: rangeTotals.outputTokens },
      { bucket: 'reasoning', label: 'Reasoning', tokens: rangeTotals.reasoningTokens },
    ],
    budgets,
    budgetRules: config.budgets.length,
    rejected: { requests: rangeTotals.rejectedRequests, byUser: rejectedByUser },
    unpriced: { requests: rangeTotals.unpricedRequests, byModel: unpricedByModel },
    plan,
  };
}

function tokensOf(totals: UsageTotals): number {
  return (
    totals.inputTokens +
    totals.cachedInputTokens +
    totals.cacheWriteTokens +
    totals.outputTokens +
    totals.reasoningTokens
  );
}

function totalsView(totals: UsageTotals): TotalsView {
  return { ...totals, costDisplay: displayUsd(Money.from(totals.cost)), tokens: tokensOf(totals) };
}

/** Top N groups by cost (tokens break ties and rank unpriced models), the rest summed as "others". */
function breakdown(groups: UsageGroup[], totals: UsageTotals, topN: number, days: number) {
  const sorted = [...groups].sort((a, b) => {
    const byCost = Money.from(b.cost).compare(Money.from(a.cost));
    return byCost !== 0 ? byCost : tokensOf(b) - tokensOf(a);
  });
  const shown = sorted.length > topN ? sorted.slice(0, topN - 1) : sorted;
  const rest = sorted.slice(shown.length);
  const totalCost = Money.from(totals.cost);
  const totalTokens = tokensOf(totals);
  const row = (key: string, members: UsageGroup[], others?: true): BreakdownRow => {
    const cost = Money.sum(members.map((member) => Money.from(member.cost)));
    const tokens = members.reduce((sum, member) => sum + tokensOf(member), 0);
    return {
      key,
      ...(others ? { others } : {}),
      requests: members.reduce((sum, member) => sum + member.requests, 0),
      tokens,
      cost: cost.toString(),
      costDisplay: displayUsd(cost),
      rejectedRequests: members.reduce((sum, member) => sum + member.rejectedRequests, 0),
      unpricedRequests: members.reduce((sum, member) => sum + member.unpricedRequests, 0),
      share: totalCost.isZero() ? (totalTokens === 0 ? 0 : tokens / totalTokens) : Number(cost.ratioTo(totalCost, 4)),
    };
  };
  const rows = shown.map((group) => row(group.key, [group]));
  if (rest.length) rows.push(row(`${rest.length} others`, rest, true));
  return { groups: groups.length, days, rows };
}

/**
 * Each subject's use of each budget, read from the store's own budget counters (spent plus reserved, in
 * the current window) so the dashboard shows exactly what the meter enforces.
 */
async function budgetRows(config: Config, now: number, rangeStart: number): Promise<DashboardSummary['budgets']> {
  const rows: DashboardSummary['budgets'] = [];
  for (const rule of config.budgets) {
    const start =
      rule.window.kind === 'rolling'
        ? now - rule.window.durationMs
        : calendarWindow(rule.window.period, rule.window.timeZone ?? 'UTC', now).start;
    const period =
      rule.window.kind === 'rolling'
        ? `per ${formatDuration(rule.window.durationMs)}, rolling`
        : `per ${rule.window.period}`;
    const groupBy = rule.scope === 'global' ? undefined : rule.scope;
    const [inWindow, inRange] = await Promise.all([
      config.store.query({ from: start, to: now + 1, timeZone: config.timeZone, ...(groupBy ? { groupBy } : {}) }),
      config.store.query({ from: rangeStart, to: now + 1, timeZone: config.timeZone, ...(groupBy ? { groupBy } : {}) }),
    ]);
    const rejectedBySubject = new Map(inRange.groups.map((group) => [group.key, group.rejectedRequests]));
    const subjects =
      rule.scope === 'global'
        ? ['global']
        : [...new Set([...inWindow.groups, ...inRange.groups].map((group) => group.key))].filter(
            (key) => key !== '(none)',
          );
    for (const subject of subjects) {
      const identity =
        rule.scope === 'user' || rule.scope === 'tenant' || rule.scope === 'feature' ? { [rule.scope]: subject } : {};
      const applied = applicableBudgets([rule], identity, rule.scope === 'route' ? subject : '');
      const budgetId = applied[0]?.budgetId;
      if (!budgetId) continue;
      const used = await config.store.budgetUsage(budgetId, rule.window, now);
      const refused = rule.scope === 'global' ? inRange.totals.rejectedRequests : (rejectedBySubject.get(subject) ?? 0);
      // Subjects with nothing spent in the window and nothing refused would only pad the table.
      if (used === 0 && refused === 0 && rule.scope !== 'global') continue;
      const fraction = rule.limit > 0 ? used / rule.limit : 0;
      const usedText = formatBudgetAmount(used, rule.unit);
      const limitText = formatBudgetAmount(rule.limit, rule.unit);
      rows.push({
        subject: rule.scope === 'global' ? 'everyone' : rule.scope === 'user' ? subject : `${rule.scope} ${subject}`,
        period: rule.soft ? `${period} (soft)` : period,
        unit: rule.unit,
        used: usedText,
        usedDisplay: rule.unit === 'usd' ? displayUsd(Money.from(usedText)) : `${used.toLocaleString('en-US')} tokens`,
        limit: limitText,
        limitDisplay:
          rule.unit === 'usd' ? displayUsd(Money.from(limitText)) : `${rule.limit.toLocaleString('en-US')} tokens`,
        fraction,
        rejected: refused,
      });
    }
  }
  return rows.sort((a, b) => b.fraction - a.fraction);
}

function formatDuration(ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  return `${Math.round(ms / 60_000)} min`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function setSecurityHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy':
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
}
