import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitBlobReader } from './git-blob-reader';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'T',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 'T',
      GIT_COMMITTER_EMAIL: 't@example.com',
    },
  }).trim();
}

describe('GitBlobReader', { timeout: 30_000 }, () => {
  let repo: string;
  let commit: string;
  const large = 'x'.repeat(300_000);

  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'tokenmeter-blobs-'));
    git(repo, 'init', '-q', '-b', 'main');
    for (let index = 0; index < 50; index++) writeFileSync(join(repo, `file${index}.md`), `prompt ${index}\n`);
    writeFileSync(join(repo, 'large.md'), large);
    writeFileSync(join(repo, 'name with spaces.md'), 'spaced');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'one');
    commit = git(repo, 'rev-parse', 'HEAD');
  });

  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it('answers many pipelined reads in order, by commit:path and by blob id', async () => {
    const reader = new GitBlobReader(repo, 1000);
    try {
      const names = Array.from({ length: 50 }, (_, index) => `${commit}:file${index}.md`);
      const blobs = await Promise.all(names.map((name) => reader.read(name)));
      expect(blobs.map((blob) => (blob && 'content' in blob ? blob.content.toString('utf8') : blob))).toEqual(
        Array.from({ length: 50 }, (_, index) => `prompt ${index}\n`),
      );
      const id = git(repo, 'rev-parse', `${commit}:file7.md`);
      expect(await reader.read(id)).toEqual({ content: Buffer.from('prompt 7\n') });
      expect(await reader.read(`${commit}:name with spaces.md`)).toEqual({ content: Buffer.from('spaced') });
    } finally {
      reader.close();
    }
  });

  it('reports missing objects and trees as absent, and oversized blobs by size without keeping them', async () => {
    const reader = new GitBlobReader(repo, 1000);
    try {
      const [missing, tree, tooLarge, after] = await Promise.all([
        reader.read(`${commit}:no-such-file.md`),
        reader.read(`${commit}^{tree}`),
        reader.read(`${commit}:large.md`),
        // Read right behind the oversized blob: its bytes must be skipped exactly.
        reader.read(`${commit}:file3.md`),
      ]);
      expect(missing).toBeUndefined();
      expect(tree).toBeUndefined();
      expect(tooLarge).toEqual({ tooLarge: large.length });
      expect(after).toEqual({ content: Buffer.from('prompt 3\n') });
    } finally {
      reader.close();
    }
  });

  it('refuses names with a line break, which the batch protocol cannot carry', () => {
    expect(GitBlobReader.canRead('abc:prompts/a.md')).toBe(true);
    expect(GitBlobReader.canRead('abc:prompts/a\nb.md')).toBe(false);
  });
});
