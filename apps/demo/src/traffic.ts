import { DEMO_USERS } from './users';

/**
 * A short burst of realistic traffic against the running demo, as its users' clients would send it:
 * support agents chatting (multi-turn, streamed), summarizing ticket threads, asking the code helper; one
 * user's script summarizing long threads until the budget stops it; one reader closing a streamed reply
 * halfway.
 */
export interface TrafficResult {
  sent: number;
  ok: number;
  rejected: number;
  cut: number;
  failed: number;
  /** Status codes other than 2xx and 429, with counts (a healthy run has none). */
  failures: Record<string, number>;
}

export interface TrafficOptions {
  /** Called after each request with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Parallel requests. Default 4. */
  concurrency?: number;
  /** Pause between a user's requests in ms (think time). Default 450. */
  thinkMs?: number;
}

interface Step {
  user: string;
  path: '/api/chat' | '/api/summarize' | '/api/code-helper';
  body: unknown;
  /** Read this many streamed events, then close the connection. */
  cutAfterEvents?: number;
}

const CHAT_QUESTIONS = [
  'My notes from the iPad do not show up on my laptop. What should I check?',
  'How do I export a whole notebook as Markdown?',
  'Where can I download last month’s invoice with our VAT number on it?',
  'I see a note called "conflicted copy". Did I lose anything?',
  'Can a viewer in a shared notebook add comments or edit notes?',
  'What does the Plus plan add compared with Free?',
];

const FOLLOW_UPS = [
  'Thanks. And if it still does not work after that?',
  'Does that also work on the Android app?',
  'OK, and is there a way to do it for several notebooks at once?',
];

const CODE_QUESTIONS = [
  'How do I list every note of a notebook with the API? There are thousands.',
  'How do I verify the webhook signature in an Express handler?',
  'Give me a function that creates a note and handles the rate limit.',
  'My import script gets 429s after a minute. What is the right way to pace it?',
];

/** A support thread of roughly `exchanges` × 60 words, varied by `seed`. */
export function ticketThread(seed: number, exchanges: number): string {
  const products = ['desktop app 5.2.1', 'iPad app 5.1.4', 'Android app 5.2.0', 'web app'];
  const problems = [
    'notes created on one device never reach the other one',
    'the Evernote import stops at 40 % with "ENEX parse error: unexpected end of file"',
    'the March invoice shows two payments for the Plus plan',
    'a shared notebook shows "access denied" for an editor',
  ];
  const product = products[seed % products.length];
  const problem = problems[seed % problems.length];
  const lines = [
    `Customer (day 1, 09:12): Hello, since the update to the ${product}, ${problem}. This is blocking my team.`,
  ];
  for (let index = 0; index < exchanges; index++) {
    const day = 1 + Math.floor(index / 2);
    lines.push(
      index % 2 === 0
        ? `Agent (day ${day}, ${10 + (index % 7)}:0${index % 10}): Thanks for the details. Could you sign out and back in, check that Settings → Account shows the same email on every device, and send the sync log from Help → Diagnostics? If the problem is in the ${product}, the log will show a 409 conflict or a timeout next to the note's id.`
        : `Customer (day ${day}, ${13 + (index % 5)}:2${index % 10}): I did that. Same email on all devices, signed out and in again, log attached (attempt ${index}). The note still does not appear, and a colleague now sees the same thing with a different notebook.`,
    );
  }
  return lines.join('\n\n');
}

function buildSteps(): Step[] {
  const steps: Step[][] = DEMO_USERS.map(() => []);
  const [alice, bob, carol, dave, erin] = DEMO_USERS.map((user) => user.name);
  const byUser = (name: string | undefined) => steps[DEMO_USERS.findIndex((user) => user.name === name)] ?? [];

  // alice: three multi-turn conversations; the growing history is a repeated prefix, cached by the provider.
  for (let conversation = 0; conversation < 3; conversation++) {
    const messages: { role: 'user' | 'assistant'; content: string }[] = [];
    for (let turn = 0; turn < 3; turn++) {
      messages.push({
        role: 'user',
        content: turn === 0 ? (CHAT_QUESTIONS[conversation] ?? '') : (FOLLOW_UPS[turn - 1] ?? ''),
      });
      byUser(alice).push({ user: alice ?? '', path: '/api/chat', body: { messages: [...messages] } });
      messages.push({ role: 'assistant', content: 'Thanks for the details. Let me walk you through it.' });
    }
  }
  // bob: ordinary ticket summaries.
  for (let index = 0; index < 8; index++) {
    byUser(bob).push({
      user: bob ?? '',
      path: '/api/summarize',
      body: { thread: ticketThread(index, 4 + (index % 4)) },
    });
  }
  // carol: the code helper on a reasoning model.
  for (let index = 0; index < 4; index++) {
    byUser(carol).push({
      user: carol ?? '',
      path: '/api/code-helper',
      body: { question: CODE_QUESTIONS[index % CODE_QUESTIONS.length], language: 'TypeScript' },
    });
  }
  // dave: a backfill script summarizing long threads, until the daily budget answers 429.
  for (let index = 0; index < 30; index++) {
    byUser(dave).push({
      user: dave ?? '',
      path: '/api/summarize',
      body: { thread: ticketThread(100 + index, 60 + (index % 20)) },
    });
  }
  // erin: chats; she closes the second streamed answer halfway.
  for (let index = 0; index < 6; index++) {
    byUser(erin).push({
      user: erin ?? '',
      path: '/api/chat',
      body: { messages: [{ role: 'user', content: CHAT_QUESTIONS[(index + 3) % CHAT_QUESTIONS.length] }] },
      ...(index === 1 ? { cutAfterEvents: 12 } : {}),
    });
  }
  return interleave(steps);
}

/** Round-robin over users so the burst looks like concurrent traffic, not one user after another. */
function interleave(perUser: Step[][]): Step[] {
  const order: Step[] = [];
  const longest = Math.max(...perUser.map((steps) => steps.length));
  for (let index = 0; index < longest; index++) {
    for (const steps of perUser) {
      const step = steps[index];
      if (step) order.push(step);
    }
  }
  return order;
}

export async function driveTraffic(baseUrl: string, options: TrafficOptions = {}): Promise<TrafficResult> {
  const steps = buildSteps();
  const keys = new Map(DEMO_USERS.map((user) => [user.name, user.apiKey]));
  const result: TrafficResult = { sent: 0, ok: 0, rejected: 0, cut: 0, failed: 0, failures: {} };
  const thinkMs = options.thinkMs ?? 450;
  let next = 0;
  let done = 0;

  async function worker() {
    while (next < steps.length) {
      const step = steps[next++] as Step;
      result.sent += 1;
      try {
        const outcome = await send(baseUrl, step, keys.get(step.user) ?? '');
        if (outcome === 'cut') result.cut += 1;
        else if (outcome === 429) result.rejected += 1;
        else if (outcome >= 200 && outcome < 300) result.ok += 1;
        else {
          result.failed += 1;
          result.failures[String(outcome)] = (result.failures[String(outcome)] ?? 0) + 1;
        }
      } catch (error) {
        result.failed += 1;
        const name = error instanceof Error ? error.name : 'error';
        result.failures[name] = (result.failures[name] ?? 0) + 1;
      }
      done += 1;
      options.onProgress?.(done, steps.length);
      if (thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, thinkMs));
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return result;
}

async function send(baseUrl: string, step: Step, apiKey: string): Promise<number | 'cut'> {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}${step.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify(step.body),
    signal: controller.signal,
  });
  if (!response.body) return response.status;
  if (step.cutAfterEvents === undefined) {
    await response.arrayBuffer();
    return response.status;
  }
  // Read part of the streamed answer, then hang up like a closed browser tab.
  const reader = response.body.getReader();
  let events = 0;
  while (events < step.cutAfterEvents) {
    const { value, done } = await reader.read();
    if (done) return response.status;
    events += new TextDecoder().decode(value).split('\n\n').length - 1;
  }
  controller.abort();
  await reader.cancel().catch(() => undefined);
  return 'cut';
}
