export type { AdminAccessOptions } from './admin-access';
export { adminAuthorize, adminGuard } from './admin-access';
export type { BudgetRejection } from './budget-enforcer';
export { BudgetExceededError } from './budget-exceeded-error';
export { parseBudgetShorthand } from './budget-rules';
export type { CalendarWindowInstance, RollingWindowInstance, WindowInstance } from './budget-window';
export { calendarWindow, currentWindow, ROLLING_SLICES, retryAfterMs, validateBudgetWindow } from './budget-window';
export type { DashboardPlan, PlanView } from './dashboard-plan';
export type { DashboardBudgets, DashboardOptions, DashboardSummary } from './dashboard-router';
export { dashboardRouter } from './dashboard-router';
export { instrumentFetch } from './instrumented-fetch';
export { InvalidBudgetWindowError } from './invalid-budget-window-error';
export { InvalidDashboardOptionsError } from './invalid-dashboard-options-error';
export { InvalidMeterOptionsError } from './invalid-meter-options-error';
export { InvalidUsageQueryError } from './invalid-usage-query-error';
export type { KeyStore, VirtualKeyRecord } from './key-store';
export { createMemoryKeyStore } from './key-store';
// Types only from the heavy entries (free at run time); their functions live in ./sqlite, ./redis, ./metrics, ./server.
export type { RedisKeyStoreOptions } from './key-store-redis';
export { loopbackOnly } from './loopback';
export type { InAppMeterOptions, MeterMiddleware } from './meter';
export { budgetErrorHandler, meter, wrapAnthropic, wrapOpenAI } from './meter';
export type { RequestUsage } from './meter-context';
export { requestUsage } from './meter-context';
export type {
  BudgetLimitOption,
  BudgetRuleOptions,
  BudgetScope,
  BudgetWarning,
  BudgetWindowOption,
  IdentifyFunction,
  Identity,
  MeteredProxyOptions,
  MeterLogger,
  MeterOptions,
  UnpricedPolicyOption,
  UsageEventObserver,
} from './meter-options';
export type { MeteredProxy } from './metered-proxy';
export { meteredProxy } from './metered-proxy';
export type { Metrics, MetricsOptions } from './metrics';
export type { ProviderKeys, ProxyIdentityOptions } from './proxy-identity';
export type { RunningProxy, ShutdownReport, StartProxyOptions } from './proxy-server';
export { StoreConfigurationError } from './store-configuration-error';
export type { FailurePolicyOptions, FailurePolicyStats, PolicedStore, StoreLogger } from './store-failure-policy';
export { withFailurePolicy } from './store-failure-policy';
export type { MemoryStore, MemoryStoreOptions } from './store-memory';
export { createMemoryStore } from './store-memory';
export type { PostgresPool, PostgresStore, PostgresStoreOptions } from './store-postgres';
export { createPostgresStore } from './store-postgres';
export type { RedisStore, RedisStoreOptions } from './store-redis';
export type { SqliteStore, SqliteStoreOptions } from './store-sqlite';
export { StoreUnavailableError } from './store-unavailable-error';
export type * from './types';
export { AGGREGATE_BUCKET_MS } from './usage-aggregate';
export type { UsageRouterOptions } from './usage-router';
export { usageRouter } from './usage-router';
export type { CreateVirtualKeyOptions } from './virtual-keys';
export {
  createVirtualKey,
  credentialFingerprint,
  generateVirtualKey,
  hashVirtualKey,
  modelAllowed,
  VIRTUAL_KEY_PREFIX,
  verifyVirtualKey,
} from './virtual-keys';
