const HELP_BASE = 'https://github.com/tokenmeter/tokenmeter/blob/main/docs/errors.md';

/**
 * The base of every error tokenmeter throws on purpose. `code` is stable across releases (match on it,
 * not on the message); `helpUrl` points at the paragraph of docs/errors.md that says what to do.
 */
export class TokenmeterError extends Error {
  readonly code: string;
  readonly helpUrl: string;

  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.helpUrl = `${HELP_BASE}#${code.toLowerCase().replaceAll('_', '-')}`;
  }

  static isInstance(error: unknown): error is TokenmeterError {
    return error instanceof TokenmeterError;
  }
}
