import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The part of the GitHub REST API the Action uses, on 127.0.0.1, counting every call by route: pull
 * request files (from `git diff` of a real repository, 100 per page), contents at a commit, issue comments.
 */
export class CountingGitHub {
  readonly calls = new Map<string, number>();
  private server: Server | undefined;
  private comments: Array<{ id: number; body: string }> = [];

  constructor(
    private readonly repository: string,
    private readonly gitDirectory: string,
    /** The pull request being checked; change `base` / `head` between runs. */
    readonly pull: { number: number; base: string; head: string },
    /** `sha:path` → bytes, served from memory so the fake's own git calls are not what is measured. */
    private readonly contents: Map<string, Buffer>,
  ) {}

  get total(): number {
    let total = 0;
    for (const count of this.calls.values()) total += count;
    return total;
  }

  reset(): void {
    this.calls.clear();
    this.comments = [];
  }

  async start(): Promise<string> {
    const listings = new Map<string, Array<{ filename: string; status: string }>>();
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = new URL(request.url ?? '/', 'http://127.0.0.1');
        const method = request.method ?? 'GET';
        const route = url.pathname.replace(`/repos/${this.repository}`, '');
        const key = `${method} ${route.replace(/\/contents\/.*/, '/contents/{path}').replace(/\d+/g, '{n}')}`;
        this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
        const send = (status: number, data: unknown) => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(data));
        };
        const page = Number(url.searchParams.get('page') ?? '1');
        const perPage = Number(url.searchParams.get('per_page') ?? '30');
        if (method === 'GET' && route === `/pulls/${this.pull.number}/files`) {
          const key = `${this.pull.base}..${this.pull.head}`;
          const files = listings.get(key) ?? this.pullFiles();
          listings.set(key, files);
          return send(200, files.slice((page - 1) * perPage, page * perPage));
        }
        if (method === 'GET' && route.startsWith('/contents/')) {
          const path = decodeURIComponent(route.slice('/contents/'.length));
          const content = this.contents.get(`${url.searchParams.get('ref') ?? ''}:${path}`);
          if (content === undefined) return send(404, { message: 'Not Found' });
          return send(200, {
            type: 'file',
            path,
            size: content.length,
            encoding: 'base64',
            content: content.toString('base64'),
          });
        }
        if (route === `/issues/${this.pull.number}/comments`) {
          if (method === 'GET') return send(200, this.comments.slice((page - 1) * perPage, page * perPage));
          const comment = { id: 1000 + this.comments.length, body: JSON.parse(Buffer.concat(chunks).toString()).body };
          this.comments.push(comment);
          return send(201, comment);
        }
        if (method === 'PATCH' && route.startsWith('/issues/comments/')) return send(200, {});
        return send(404, { message: `no fake for ${method} ${route}` });
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }

  private pullFiles(): Array<{ filename: string; status: string }> {
    const output = execFileSync(
      'git',
      ['-C', this.gitDirectory, 'diff', '--name-status', '-z', '--no-renames', this.pull.base, this.pull.head],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const fields = output.split('\0').filter((field) => field !== '');
    const files: Array<{ filename: string; status: string }> = [];
    for (let index = 0; index + 1 < fields.length; index += 2) {
      const code = fields[index] ?? '';
      files.push({
        filename: fields[index + 1] ?? '',
        status: code === 'A' ? 'added' : code === 'D' ? 'removed' : 'modified',
      });
    }
    return files;
  }
}
