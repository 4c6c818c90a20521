import { TokenmeterError } from './tokenmeter-error';

/** A model name the catalog cannot resolve: never priced as $0, always this error with the nearest ids. */
export class UnknownModelError extends TokenmeterError {
  readonly model: string;
  /** Up to five known ids closest to the name asked for, best first. */
  readonly suggestions: string[];

  constructor(model: string, suggestions: string[]) {
    const hint = suggestions.length > 0 ? ` Did you mean ${suggestions.map((id) => `"${id}"`).join(', ')}?` : '';
    super('UNKNOWN_MODEL', `Unknown model ${JSON.stringify(model.slice(0, 200))}.${hint}`);
    this.model = model;
    this.suggestions = suggestions;
  }
}
