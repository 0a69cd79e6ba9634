// Error policy (vscode/deno std): BugIndicatingError for broken invariants, built-in errors for bad
// arguments, AbortSignal for cancellation (never logged as a failure nor retried).

/** Thrown when an invariant of our own code is broken: a bug, never bad input. */
export class BugIndicatingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BugIndicatingError';
  }
}

/** True when err comes from an aborted AbortSignal (shutdown), which is not a failure. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** Narrows an unknown thrown value to a message. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
