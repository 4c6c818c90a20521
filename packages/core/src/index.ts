export { advise, predictability, STEADY_BELOW, VOLATILE_FROM } from './advice';
export {
  breakEvenTokens,
  type FlatRateLine,
  lineCostAt,
  lineMoneyAt,
  type PerTokenLine,
  perTokenLine,
  planLine,
} from './break-even';
export {
  type CostCurve,
  type CostCurvePoint,
  type CurveRange,
  costCurve,
  formatTokens,
  renderTerminalChart,
} from './chart';
export { type CompareInput, comparePricing } from './compare';
export {
  type ComputeCostOptions,
  type CostCatalog,
  computeCost,
  MODALITY_TOKEN_BUCKETS,
  selectLongContextTier,
  TOKEN_BUCKETS,
  tokensTowardThreshold,
} from './cost';
export {
  type CostReportOptions,
  costHeadline,
  MAX_COMMENT_LENGTH,
  modelErrorSentence,
  renderCostReport,
} from './cost-report';
export { htmlText, markdownCode, markdownText, neutralizeInvisible } from './cost-report-escape';
export {
  COST_REPORT_MARKER,
  formatRunStamp,
  isNewerRunStamp,
  parseRunStamp,
  type RunStamp,
  withoutRunStamp,
} from './cost-report-stamp';
export { type CostReportJson, costReportJson, renderCostReportText } from './cost-report-text';
export { parseCustomPrices, validateCatalogEntries } from './custom-prices';
export type { GitBlob } from './git-blob-reader';
export { GitBlobReader } from './git-blob-reader';
export { equalsNames, type GenAiMatchRule, importGenAiPrices, matchesGenAiRule } from './import-genai-prices';
export { type ImportOptions, importLiteLLM, UNKNOWN_EFFECTIVE_FROM } from './import-litellm';
export { InvalidConfigError } from './invalid-config-error';
export { InvalidMoneyError } from './invalid-money-error';
export { InvalidPlanError } from './invalid-plan-error';
export { InvalidPriceFileError } from './invalid-price-file-error';
export { InvalidSeriesError } from './invalid-series-error';
export { InvalidUsageError } from './invalid-usage-error';
export { InvalidWorkloadError } from './invalid-workload-error';
export { closestIds, editDistance } from './model-suggestions';
export { costOfTokens, formatUsd, Money, parsePricePerMillion } from './money';
export {
  catalogModelPricer,
  costOfVolume,
  type ModelPricer,
  type PricingContext,
  type ResolvedPricing,
  resolvePricing,
  wholeTokenRequest,
} from './per-token-pricing';
export { DEFAULT_PEAK_FACTOR, flatRatePlan, formatCount, type PlanCostOptions, parsePlans, planCost } from './plans';
export {
  type ActiveCatalog,
  catalogAgeDays,
  type LoadActiveCatalogOptions,
  loadActiveCatalog,
  type PriceCacheInfo,
  type PriceChange,
  priceCacheDirectory,
  readPriceCache,
  STALE_CATALOG_DAYS,
  staleCatalogWarning,
  type UpdatePriceCacheOptions,
  type UpdatePriceCacheResult,
  updatePriceCache,
  withPriceSources,
} from './price-cache';
export { PriceCatalog, type PriceCatalogOptions } from './price-catalog';
export {
  detectPriceFeedFormat,
  displaySource,
  type FetchedPriceFeed,
  type FetchPriceFeedOptions,
  fetchPriceFeed,
  type LoadPriceFeedOptions,
  loadPriceFeed,
  type ParsedPriceFeed,
  PRICE_FEED_URLS,
  type PriceFeedFormat,
  parsePriceFeed,
} from './price-feed';
export { type MergeFeedOptions, mergeFeedEntries } from './price-feed-merge';
export { PriceFeedUnavailableError } from './price-feed-unavailable-error';
export { normalizePerMillion, perTokenToPerMillion } from './price-values';
export {
  type CheapestModel,
  type CheapestModelsOptions,
  cheapestModels,
  describeAssumptions,
  type ProjectOptions,
  projectWorkload,
} from './projection';
export {
  type CodeCallSite,
  type CodeLanguage,
  type CodeMessage,
  codeLanguage,
  extractCodePrompts,
} from './prompt-code';
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
  type CostThresholds,
  type DiffPromptsInput,
  diffPrompts,
  exceededThreshold,
  type ModelAssumption,
  type ModelError,
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
  parseCodeCall,
  parsePromptFile,
  stripTemplate,
} from './prompt-parse';
export { parseUsageVolume, type UsageVolume } from './prompt-usage';
export { MODEL_NAME_PREFIXES, PROVIDER_PRICING_URLS } from './provider-names';
export { Rational } from './rational';
export { applyScenario, compareScenarios, describeScenario } from './scenarios';
export { seededRandom } from './seeded-random';
export {
  type AnalyzeSeriesOptions,
  analyzeSeries,
  coefficientOfVariation,
  describeConfidence,
  medianPairwiseSlope,
  parseDailySeries,
} from './series';
export { inputShareFlip, type SplitFlip } from './split-flip';
export {
  ANTHROPIC_IMAGE_TOKEN_BOUND,
  byteTokenBound,
  openaiImageTokenBound,
  PDF_PAGE_TEXT_BOUND,
  type PromptBound,
  type PromptShape,
  pdfPageCount,
  promptTokenBound,
  promptTokenBoundAsync,
} from './token-bound';
export { ASSUMED_IMAGE_SIZE, countChatTokens, type ImageInput, imageTokens, tileCount } from './token-chat';
export { RUN_LIMIT, splitForEncoding } from './token-chunks';
export {
  clearTokenCountMemo,
  countTokens,
  countTokensAsync,
  countWithEncoding,
  tokenCountMemoSize,
} from './token-count';
export { encodingForModel, freeEncoders, getEncoder, warmUpEncoders } from './token-encoding';
export { ESTIMATE_RULES, type EstimateRule, estimateRuleFor, estimateTokens } from './token-estimate';
export { TokenmeterError } from './tokenmeter-error';
export type * from './types';
export { UnknownModelError } from './unknown-model-error';
export {
  type BucketName,
  USAGE_DIALECTS,
  type UsageDialect,
  type UsageFieldMeaning,
  type UsageFieldRelation,
  usageDialect,
} from './usage-dialects';
export {
  detectUsageFormat,
  MAX_TOKEN_COUNT,
  normalizeUsage,
  totalInputTokens,
  totalOutputTokens,
  USAGE_FORMATS,
} from './usage-normalize';
export {
  createStreamUsageAccumulator,
  type StreamUsageAccumulator,
  type StreamUsageAccumulatorOptions,
} from './usage-stream';
export {
  DEFAULT_DAYS_PER_MONTH,
  monthVolume,
  type NormalizedWorkload,
  normalizeWorkload,
  parseQuantity,
  parseShare,
  scaleVolume,
} from './workload';
