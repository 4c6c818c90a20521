export type { DashboardBudgets, DashboardOptions, DashboardSummary } from './dashboard-router';
export { dashboardRouter } from './dashboard-router';
export { InvalidDashboardOptionsError } from './invalid-dashboard-options-error';
export { BudgetExceededError } from './budget-exceeded-error';
export type { BudgetRejection } from './budget-enforcer';
export { parseBudgetShorthand } from './budget-rules';
export { InvalidMeterOptionsError } from './invalid-meter-options-error';
export { instrumentFetch } from './instrumented-fetch';
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
  UsageEventObserver,
} from './meter-options';
export type { MeteredProxy } from './metered-proxy';
export { meteredProxy } from './metered-proxy';
export type * from './types';
