import type { ChatMessage } from '@tokenmeter/core';

/**
 * Canned answers in the voice of each route's system prompt. The fake model picks one by a hash of the
 * question, so the same question gets the same answer and the token counts are stable between runs.
 */
const CHAT_REPLIES = [
  'Sorry about the sync trouble. Sync runs every 30 seconds and on every save, so a note that stays behind usually means the device is offline or signed in to another account.\n\n1. Check the cloud icon at the top of the sidebar: a slash means offline.\n2. Open Settings → Account and confirm the same email on both devices.\n3. Pull down on the notebook list to force a sync.\n\nIf the note still does not appear, I can open a ticket with the sync logs. Would you like me to?',
  'You can export a whole notebook as Markdown: open the notebook, choose ⋯ → Export, pick "Markdown (zip)", and save the file. Attachments go into a folder next to each note, and links between notes keep working after you unzip. PDF and HTML exports work the same way from the same menu.',
  'Invoices live under Settings → Billing → History, one per month, as PDF. If you need your company name or VAT number on them, add it under Settings → Billing → Details before the next renewal; earlier invoices cannot be changed after the fact. I cannot change billing details from here, but I can open a ticket if something looks wrong.',
  'A "conflicted copy" appears when the same note was edited on two devices before they could sync. Nothing is lost: both versions are kept.\n\n1. Open both notes side by side.\n2. Copy what you need into the original.\n3. Delete the conflicted copy.\n\nTo avoid it, let the app finish syncing (the cloud icon turns solid) before you switch devices.',
  "Shared notebooks have three roles. Owners can invite and remove people and delete the notebook; editors can add and change notes but cannot delete the notebook; viewers can only read. To change a role, open the notebook, choose Share, and pick the new role next to the person's email. The change applies on their next sync.",
  "The Plus plan is $4 a month and lifts the Free plan's limits: unlimited notebooks and up to 5 devices. You can switch under Settings → Billing → Plan; the price difference for the current month is prorated. If you are a team, the Team plan is $8 per seat and adds shared admin controls.",
];

const SUMMARY_REPLIES = [
  '**Problem** — Notes created on the iPad do not appear on the desktop app (version 5.2.1).\n\n**What was tried**\n- The customer signed out and back in on both devices.\n- The agent confirmed both devices use the same account and asked for sync logs.\n\n**Status** — Waiting on the customer for the logs since yesterday afternoon.\n\n**Next step** — When the logs arrive, check for "409 conflict" entries and escalate to the sync team if present.',
  '**Problem** — The customer was charged twice for the Plus plan in March.\n\n**What was tried**\n- The agent found two payments with the same amount, four minutes apart.\n- Billing confirmed the second one is a duplicate authorization.\n\n**Status** — Refund issued three days ago; waiting for the bank to release it (the newer message supersedes the earlier "refund pending").\n\n**Next step** — Confirm with the customer that the refund arrived, then close the ticket.',
  '**Problem** — Evernote import stops at 40 % with "ENEX parse error: unexpected end of file".\n\n**What was tried**\n- The customer retried twice with the same file.\n- The agent suggested exporting the notebooks one by one from Evernote.\n\n**Status** — Waiting on the customer to try the smaller exports.\n\n**Next step** — If one notebook still fails, ask for that .enex file and attach it to a bug report.',
];

// The replies are TypeScript samples: `${…}` in them is text the model writes, not a template of ours.
const CODE_REPLIES = [
  "```ts\nconst token = process.env.ACME_NOTES_TOKEN;\nif (!token) throw new Error('Set ACME_NOTES_TOKEN');\n\nasync function listNotes(notebookId: string) {\n  const notes = [];\n  let cursor: string | undefined;\n  do {\n    const url = new URL(`https://api.acme-notes.example/v2/notebooks/$\u007bnotebookId}/notes`);\n    if (cursor) url.searchParams.set('cursor', cursor);\n    const response = await fetch(url, { headers: { authorization: `Bearer $\u007btoken}` } });\n    if (response.status === 429) {\n      const seconds = Number(response.headers.get('retry-after') ?? '1');\n      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));\n      continue;\n    }\n    if (!response.ok) throw new Error(`Acme Notes API: HTTP $\u007bresponse.status}`);\n    const page = await response.json();\n    notes.push(...page.data);\n    cursor = page.nextCursor;\n  } while (cursor);\n  return notes;\n}\n```\n\nThe API pages by cursor, 100 notes at a time; keep requesting until `nextCursor` is absent. On 429, wait the number of seconds in `Retry-After` and repeat the same page.",
  "```ts\nimport { createHmac, timingSafeEqual } from 'node:crypto';\n\nexport function verifyAcmeSignature(rawBody: Buffer, signature: string | undefined): boolean {\n  const secret = process.env.ACME_WEBHOOK_SECRET;\n  if (!secret || !signature) return false;\n  const expected = createHmac('sha256', secret).update(rawBody).digest('hex');\n  const given = Buffer.from(signature, 'hex');\n  return given.length === expected.length / 2 && timingSafeEqual(given, Buffer.from(expected, 'hex'));\n}\n```\n\nVerify against the raw request body, before any JSON parsing, and compare in constant time. Answer 401 when the check fails so Acme Notes retries later.",
  "```ts\nasync function createNote(notebookId: string, title: string, body: string) {\n  const response = await fetch('https://api.acme-notes.example/v2/notes', {\n    method: 'POST',\n    headers: { authorization: `Bearer $\u007bprocess.env.ACME_NOTES_TOKEN}`, 'content-type': 'application/json' },\n    body: JSON.stringify({ notebookId, title, body }),\n  });\n  if (response.status === 429) throw new Error(`Rate limited; retry after $\u007bresponse.headers.get('retry-after')} s`);\n  if (!response.ok) throw new Error(`Acme Notes API: HTTP $\u007bresponse.status}: $\u007bawait response.text()}`);\n  return response.json();\n}\n```\n\nThe body is Markdown. The API allows 600 requests per minute per token, so batch imports should pace themselves or honour `Retry-After`.",
];

export function replyFor(messages: ChatMessage[]): string {
  const system = textOf(messages[0]);
  const last = textOf(messages[messages.length - 1]);
  const pool = /summari[sz]e/i.test(system)
    ? SUMMARY_REPLIES
    : /code helper|REST API/i.test(system)
      ? CODE_REPLIES
      : CHAT_REPLIES;
  return pool[hash(last) % pool.length] ?? '';
}

function textOf(message: ChatMessage | undefined): string {
  if (!message) return '';
  if (typeof message.content === 'string') return message.content;
  if (Array.isArray(message.content)) {
    return message.content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join('');
  }
  return '';
}

function hash(text: string): number {
  let value = 2166136261;
  for (let index = 0; index < text.length; index++) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 16777619);
  }
  return value >>> 0;
}
