import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeComment {
  id: number;
  body: string;
}

export interface FakePullRequest {
  number: number;
  base: string;
  head: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
}

/**
 * Just enough of the GitHub REST API, on 127.0.0.1, for the Action: pull request files (paginated, from
 * `git diff` of a real repository), file contents at a commit, and issue comments. Switches simulate a
 * read-only token (403 on writes) and a flaky server (502s).
 */
export class FakeGitHub {
  readonly comments = new Map<number, FakeComment[]>();
  readonly requests: RecordedRequest[] = [];
  readonly pulls = new Map<number, FakePullRequest>();
  forbidWrites = false;
  /** Fail this many upcoming requests with 502 before answering. */
  failNext = 0;
  private nextId = 1000;
  private server: Server | undefined;

  constructor(
    private readonly repository: string,
    private readonly gitDirectory: string,
  ) {}

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: String(error) }));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  count(method: string, pattern: RegExp): number {
    return this.requests.filter((request) => request.method === method && pattern.test(request.path)).length;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = request.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, query: url.searchParams });
    const body = await readBody(request);
    const send = (status: number, data: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', connection: 'close', ...headers });
      response.end(JSON.stringify(data));
    };
    if (this.failNext > 0) {
      this.failNext--;
      return send(502, { message: 'Bad Gateway' });
    }
    const prefix = `/repos/${this.repository}`;
    if (!url.pathname.startsWith(prefix)) return send(404, { message: 'Not Found' });
    const route = url.pathname.slice(prefix.length);
    const page = Number(url.searchParams.get('page') ?? '1');
    const perPage = Number(url.searchParams.get('per_page') ?? '30');
    const paginate = <T>(items: T[]) => items.slice((page - 1) * perPage, page * perPage);

    let match = /^\/pulls\/(\d+)\/files$/.exec(route);
    if (match && method === 'GET') {
      const pull = this.pulls.get(Number(match[1]));
      if (!pull) return send(404, { message: 'Not Found' });
      return send(200, paginate(this.pullFiles(pull)));
    }
    match = /^\/contents\/(.+)$/.exec(route);
    if (match && method === 'GET') {
      const path = decodeURIComponent(match[1] ?? '');
      const ref = url.searchParams.get('ref') ?? 'HEAD';
      let content: Buffer;
      try {
        content = execFileSync('git', ['-C', this.gitDirectory, 'cat-file', 'blob', `${ref}:${path}`], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
      } catch {
        return send(404, { message: 'Not Found' });
      }
      return send(200, {
        type: 'file',
        path,
        size: content.length,
        encoding: 'base64',
        content: content.toString('base64'),
      });
    }
    match = /^\/issues\/(\d+)\/comments$/.exec(route);
    if (match) {
      const issue = Number(match[1]);
      const list = this.comments.get(issue) ?? [];
      if (method === 'GET') return send(200, paginate(list));
      if (method === 'POST') {
        if (this.forbidWrites) return send(403, { message: 'Resource not accessible by integration' });
        const comment = { id: this.nextId++, body: (JSON.parse(body) as { body: string }).body };
        this.comments.set(issue, [...list, comment]);
        return send(201, comment);
      }
    }
    match = /^\/issues\/comments\/(\d+)$/.exec(route);
    if (match && method === 'PATCH') {
      if (this.forbidWrites) return send(403, { message: 'Resource not accessible by integration' });
      const id = Number(match[1]);
      for (const list of this.comments.values()) {
        const comment = list.find((item) => item.id === id);
        if (comment) {
          comment.body = (JSON.parse(body) as { body: string }).body;
          return send(200, comment);
        }
      }
      return send(404, { message: 'Not Found' });
    }
    return send(404, { message: `No fake for ${method} ${route}` });
  }

  /** What GitHub lists for a pull request: `git diff --name-status -M` between its base and head. */
  private pullFiles(pull: FakePullRequest) {
    const output = execFileSync(
      'git',
      [
        '-C',
        this.gitDirectory,
        '-c',
        'core.quotePath=false',
        'diff',
        '--name-status',
        '-z',
        '-M',
        pull.base,
        pull.head,
      ],
      { encoding: 'utf8' },
    );
    const fields = output.split('\0').filter((field) => field !== '');
    const files: Array<{ filename: string; status: string; previous_filename?: string }> = [];
    for (let index = 0; index < fields.length; ) {
      const code = fields[index++] ?? '';
      if (code.startsWith('R')) {
        const previous = fields[index++] ?? '';
        files.push({ filename: fields[index++] ?? '', status: 'renamed', previous_filename: previous });
      } else {
        const status = code === 'A' ? 'added' : code === 'D' ? 'removed' : 'modified';
        files.push({ filename: fields[index++] ?? '', status });
      }
    }
    return files;
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
