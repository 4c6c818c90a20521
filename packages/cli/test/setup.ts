import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Tests never read or write the user's real price cache (~/.cache/tokenmeter).
process.env.TOKENMETER_CACHE_DIR = mkdtempSync(join(tmpdir(), 'tokenmeter-cli-cache-'));
