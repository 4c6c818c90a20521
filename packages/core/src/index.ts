export { InvalidMoneyError } from './invalid-money-error';
export { costOfTokens, formatUsd, Money, parsePricePerMillion } from './money';
export { TokenmeterError } from './tokenmeter-error';
export type * from './types';
export { parseCustomPrices, validateCatalogEntries } from './custom-prices';
export { equalsNames, type GenAiMatchRule, importGenAiPrices, matchesGenAiRule } from './import-genai-prices';
export { type ImportOptions, importLiteLLM, UNKNOWN_EFFECTIVE_FROM } from './import-litellm';
export { InvalidPriceFileError } from './invalid-price-file-error';
export { closestIds, editDistance } from './model-suggestions';
export { PriceCatalog, type PriceCatalogOptions } from './price-catalog';
export { detectPriceFeedFormat, type LoadPriceFeedOptions, loadPriceFeed, type PriceFeedFormat } from './price-feed';
export { PriceFeedUnavailableError } from './price-feed-unavailable-error';
export { normalizePerMillion, perTokenToPerMillion } from './price-values';
export { MODEL_NAME_PREFIXES, PROVIDER_PRICING_URLS } from './provider-names';
export { UnknownModelError } from './unknown-model-error';
export { costHeadline, type CostReportOptions, MAX_COMMENT_LENGTH, renderCostReport } from './cost-report';
export { htmlText, markdownCode, markdownText } from './cost-report-escape';
export {
  COST_REPORT_MARKER,
  formatRunStamp,
  isNewerRunStamp,
  parseRunStamp,
  type RunStamp,
  withoutRunStamp,
} from './cost-report-stamp';
export { type CostReportJson, costReportJson, renderCostReportText } from './cost-report-text';
export { InvalidConfigError } from './invalid-config-error';
export {
  type CheckConfig,
  type CheckConfigPlan,
  matchPromptRule,
  type PromptRule,
  parseCheckConfig,
  type UsageSource,
} from './prompt-config';
export {
  breakEvenVolume,
  type CallPrice,
  type ChangedFile,
  type DiffPromptsInput,
  diffPrompts,
  type ModelAssumption,
  type PlanComparison,
  type PromptChange,
  type PromptDiff,
  type PromptEngine,
  type PromptFileContent,
  type PromptFileStatus,
  type PromptSide,
  percentChange,
  type VolumeSource,
} from './prompt-diff';
export { createPromptEngine, type PromptEngineOptions } from './prompt-engine';
export {
  MAX_PROMPT_BYTES,
  type ParsedPrompt,
  type ParsePromptOptions,
  type PromptCounter,
  type PromptFormat,
  type PromptVariableUse,
  parsePromptFile,
  stripTemplate,
} from './prompt-parse';
export { parseUsageVolume, type UsageVolume } from './prompt-usage';
