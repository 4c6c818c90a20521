import { describe, expect, it } from 'vitest';
import { parseCustomPrices } from './custom-prices';
import { parsePlans } from './plans';
import { safeYaml } from './safe-yaml';

// 100,000 nested `[` ran the yaml package out of stack (and once the test process out of memory): every YAML
// the project reads from users goes through safeYaml, which refuses such input before parsing.
const hostile = '['.repeat(100_000);

describe('safeYaml', () => {
  it('parses ordinary YAML', () => {
    expect(safeYaml('plans:\n  - name: Pro\n    fee: 25\n')).toEqual({ plans: [{ name: 'Pro', fee: 25 }] });
  });

  it('refuses deep nesting in every user-supplied YAML with that file kind’s own error', () => {
    expect(() => safeYaml(hostile)).toThrow(/nested too deeply/);
    expect(() => parsePlans(hostile)).toThrow(expect.objectContaining({ code: 'INVALID_PLAN' }));
    expect(() => parseCustomPrices(hostile, 'yaml')).toThrow(expect.objectContaining({ code: 'INVALID_PRICE_FILE' }));
  });
});
