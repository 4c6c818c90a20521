import type { FlatRatePlan } from '@tokenmeter/core';
import {
  adminGuard,
  budgetErrorHandler,
  type DashboardBudgets,
  dashboardRouter,
  loopbackOnly,
  type Metrics,
  meter,
  type Store,
  type UsageEvent,
  usageRouter,
  wrapOpenAI,
} from '@tokenmeter/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type OpenAI from 'openai';
import type { DemoPrompts } from './prompts';
import { userForApiKey } from './users';

/** The model behind each route. */
export interface DemoModels {
  chat: string;
  summarize: string;
  codeHelper: string;
}

export interface DemoAppOptions {
  store: Store;
  /** An `openai` client pointed at the fake model or a real provider. */
  openai: OpenAI;
  models: DemoModels;
  prompts: DemoPrompts;
  /** Per-user budget, in the meter's format. */
  budgets: DashboardBudgets;
  plans: FlatRatePlan[];
  metrics: Metrics;
  onEvent?: (event: UsageEvent) => void;
}

type ChatTurn = { role: 'user' | 'assistant'; content: string };

/**
 * The support assistant: three AI routes behind an API key, metered in-app by @tokenmeter/express, with
 * the usage API, Prometheus metrics and the cost dashboard mounted next to them.
 */
export function createDemoApp(options: DemoAppOptions): express.Express {
  const { store, models, prompts, metrics } = options;
  const app = express();
  app.disable('x-powered-by');

  // Who is calling: the app's own API keys. The key itself is never given to the meter.
  const identify = (req: Request) => {
    const user = userForApiKey(req.get('x-api-key'));
    return user ? { user } : undefined;
  };
  const requireUser = (req: Request, res: Response, next: NextFunction) => {
    if (identify(req)) return next();
    res
      .status(401)
      .json({ error: { type: 'unauthorized', message: 'Send a valid demo key in the x-api-key header.' } });
  };
  // Only local callers see spend; a real app would check its own admin session here.
  app.get('/', (_req, res) => res.redirect('/dashboard/'));
  app.get('/healthz', (_req, res) => res.json({ ok: true }));
  app.get('/metrics', adminGuard(loopbackOnly), metrics.metricsHandler());
  app.use(
    '/dashboard',
    dashboardRouter({
      store,
      authorize: loopbackOnly,
      budgets: options.budgets,
      plans: options.plans,
      title: 'Support assistant · AI spend',
    }),
  );

  const ai = express.Router();
  ai.use(requireUser, express.json({ limit: '1mb' }));
  // Every AI call made while handling a request is attributed to it: user, route, model, tokens, cost.
  ai.use(
    meter({
      store,
      identify,
      budgets: options.budgets,
      metrics,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    }),
  );
  const openai = wrapOpenAI(options.openai);

  ai.post('/chat', async (req, res, next) => {
    const history = parseTurns(req.body?.messages);
    if (!history)
      return badRequest(res, 'messages must be a non-empty array of { role: "user" | "assistant", content }');
    // A closed tab stops the upstream stream too, so the provider stops generating (and billing).
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    try {
      const stream = await openai.chat.completions.create(
        {
          model: models.chat,
          messages: [{ role: 'system', content: prompts.chat }, ...history],
          max_tokens: 500,
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal: controller.signal },
      );
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content;
        if (delta) res.write(`data: ${JSON.stringify({ delta })}\n\n`);
      }
      res.end(`data: ${JSON.stringify({ done: true })}\n\n`);
    } catch (error) {
      if (controller.signal.aborted) return;
      if (res.headersSent) return res.destroy();
      next(error);
    }
  });

  ai.post('/summarize', async (req, res, next) => {
    const thread = req.body?.thread;
    if (typeof thread !== 'string' || thread.trim() === '') return badRequest(res, 'thread must be a non-empty string');
    try {
      const completion = await openai.chat.completions.create({
        model: models.summarize,
        messages: [
          { role: 'system', content: prompts.summarize },
          { role: 'user', content: thread },
        ],
        max_tokens: 300,
      });
      res.json({ summary: completion.choices[0]?.message.content ?? '' });
    } catch (error) {
      next(error);
    }
  });

  ai.post('/code-helper', async (req, res, next) => {
    const question = req.body?.question;
    const language = typeof req.body?.language === 'string' ? req.body.language : 'TypeScript';
    if (typeof question !== 'string' || question.trim() === '')
      return badRequest(res, 'question must be a non-empty string');
    try {
      const completion = await openai.chat.completions.create({
        model: models.codeHelper,
        messages: [
          { role: 'system', content: prompts.codeHelper },
          { role: 'user', content: `${question}\n\nLanguage: ${language}` },
        ],
        max_completion_tokens: 1000,
      });
      res.json({ answer: completion.choices[0]?.message.content ?? '' });
    } catch (error) {
      next(error);
    }
  });

  app.use('/api', ai);
  // GET /usage and /usage/daily; mounted after the app's own routes because it guards every path it sees.
  app.use(usageRouter({ store, authorize: loopbackOnly }));
  // A budget refusal thrown by the instrumented client becomes the documented 429 with Retry-After.
  app.use(budgetErrorHandler());
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status =
      typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
    if (res.headersSent) return res.destroy();
    res.status(status >= 400 && status < 600 ? status : 500).json({
      error: {
        type: 'upstream_error',
        message: status === 500 ? 'The assistant failed; try again.' : 'The model provider refused the call.',
      },
    });
  });
  return app;
}

function parseTurns(value: unknown): ChatTurn[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > 50) return undefined;
  const turns: ChatTurn[] = [];
  for (const item of value) {
    const role = (item as { role?: unknown })?.role;
    const content = (item as { content?: unknown })?.content;
    if ((role !== 'user' && role !== 'assistant') || typeof content !== 'string') return undefined;
    turns.push({ role, content });
  }
  return turns;
}

function badRequest(res: Response, message: string) {
  res.status(400).json({ error: { type: 'invalid_request', message } });
}
