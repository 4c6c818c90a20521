import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importGenAiPrices } from '../src/import-genai-prices';
import { importLiteLLM } from '../src/import-litellm';
import { PriceCatalog } from '../src/price-catalog';

// The real feed snapshots live outside the repository (../shared/data); CI has them, a fresh clone may not.
const dataDirectory = new URL('../../../../shared/data/', import.meta.url);
const litellmFile = new URL('litellm_model_prices.json', dataDirectory);
const genaiFile = new URL('genai_prices.json', dataDirectory);
const present = existsSync(litellmFile) && existsSync(genaiFile);

describe.skipIf(!present)(
  present
    ? 'importers over the real feed snapshots'
    : 'importers over the real feed snapshots (SKIPPED: ../shared/data not found)',
  () => {
    it('imports every token-priced LiteLLM model and agrees with the shipped catalog', () => {
      const entries = importLiteLLM(JSON.parse(readFileSync(litellmFile, 'utf8')));
      expect(entries.length).toBeGreaterThan(2000);
      const byId = new Map(entries.map((entry) => [entry.id, entry]));
      // Published prices: gpt-4o $2.50 / $1.25 cached / $10; claude-sonnet-4-5 >200k $6 / $22.50.
      expect(byId.get('gpt-4o')?.prices[0]?.standard).toMatchObject({
        input: '2.5',
        cachedInput: '1.25',
        output: '10',
      });
      expect(byId.get('claude-sonnet-4-5')?.prices[0]?.tiers?.[0]?.prices).toMatchObject({
        input: '6',
        output: '22.5',
      });
      expect(byId.get('gemini/gemini-2.5-pro')?.prices[0]?.tiers?.[0]).toMatchObject({
        threshold: 200000,
        prices: { input: '2.5', output: '15' },
      });
      // A whole feed layered over the shipped catalog at run time: its entries pass validation and win by id.
      const refreshed = PriceCatalog.default().withEntries(entries);
      expect(refreshed.resolve('gemini/gemini-2.5-pro').entry.sourceUrl).toBe(
        byId.get('gemini/gemini-2.5-pro')?.sourceUrl,
      );
      const catalog = PriceCatalog.default();
      for (const id of ['gpt-4o', 'claude-sonnet-4-5', 'o4-mini', 'gpt-4.1']) {
        const shipped = catalog.priceSetAt(catalog.resolve(id).entry).standard;
        expect(shipped.input).toBe(byId.get(id)?.prices[0]?.standard.input);
      }
    });

    it('imports every genai-prices provider with history and tiers', () => {
      const entries = importGenAiPrices(JSON.parse(readFileSync(genaiFile, 'utf8')));
      expect(entries.length).toBeGreaterThan(1000);
      expect(new Set(entries.map((entry) => entry.id)).size).toBe(entries.length);
      const o3 = entries.find((entry) => entry.id === 'o3');
      expect(o3?.prices.map((set) => [set.effectiveFrom, set.standard.input])).toEqual([
        ['1970-01-01', '10'],
        ['2025-06-10', '2'],
      ]);
      expect(PriceCatalog.default().withEntries(entries).resolve('google/claude-3-5-sonnet').matchedBy).toBe('custom');
      const pro = entries.find((entry) => entry.id === 'gemini-2.5-pro');
      expect(pro?.prices[0]?.tiers?.[0]?.prices).toMatchObject({ input: '2.5', output: '15' });
    });

    it('a whole feed layered with withFeed keeps every shipped name on its shipped entry and every price set', () => {
      const shipped = PriceCatalog.bundled();
      for (const entries of [
        importLiteLLM(JSON.parse(readFileSync(litellmFile, 'utf8'))),
        importGenAiPrices(JSON.parse(readFileSync(genaiFile, 'utf8'))),
      ]) {
        const refreshed = shipped.withFeed(entries, { asOf: '2026-12-01' });
        for (const entry of shipped.entries()) {
          for (const name of [entry.id, ...entry.aliases]) {
            expect(refreshed.resolve(name).entry.id, name).toBe(shipped.resolve(name).entry.id);
          }
          for (const set of entry.prices) expect(refreshed.resolve(entry.id).entry.prices).toContainEqual(set);
        }
        for (const entry of entries) expect(refreshed.tryResolve(entry.id), entry.id).toBeDefined();
      }
    });

    it('regenerates the shipped catalog byte for byte from the snapshots and the curation', () => {
      const shipped = readFileSync(new URL('../src/catalog.generated.json', import.meta.url), 'utf8');
      const { generatedAt } = JSON.parse(shipped) as { generatedAt: string };
      const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-catalog-'));
      try {
        const out = join(directory, 'catalog.json');
        const packageRoot = fileURLToPath(new URL('..', import.meta.url));
        execFileSync(
          join(packageRoot, 'node_modules/.bin/tsx'),
          ['scripts/generate-catalog.ts', fileURLToPath(dataDirectory), '--checked-at', generatedAt, '--out', out],
          { cwd: packageRoot, stdio: 'pipe' },
        );
        expect(readFileSync(out, 'utf8')).toBe(shipped);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    }, 60_000);
  },
);
