/**
 * The demo's users and their API keys. A real app would look keys up in its database; the demo ships fixed
 * keys so the traffic generator and `curl` examples can use them. The key identifies the user and is never
 * recorded: usage events carry only the user's name.
 */
export interface DemoUser {
  name: string;
  apiKey: string;
  /** What the user does in the traffic burst. */
  role: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  { name: 'alice', apiKey: 'demo-key-alice', role: 'support agent, multi-turn chats' },
  { name: 'bob', apiKey: 'demo-key-bob', role: 'support agent, ticket summaries' },
  { name: 'carol', apiKey: 'demo-key-carol', role: 'developer advocate, code helper' },
  { name: 'dave', apiKey: 'demo-key-dave', role: 'backfill script, hits the daily budget' },
  { name: 'erin', apiKey: 'demo-key-erin', role: 'support agent, closes one streamed reply halfway' },
];

const BY_KEY = new Map(DEMO_USERS.map((user) => [user.apiKey, user.name]));

/** The user an API key belongs to, or undefined for an unknown key. */
export function userForApiKey(apiKey: string | undefined): string | undefined {
  return apiKey === undefined ? undefined : BY_KEY.get(apiKey);
}
