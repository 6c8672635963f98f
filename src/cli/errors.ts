// Exit codes and the errors that map to them.

export const EXIT_OK = 0;
/** bad input: invalid policy, unreadable file, not an image */
export const EXIT_INPUT = 1;
/** bad command line: unknown command or flag, missing argument, bad flag value */
export const EXIT_USAGE = 2;
/** a bug or a broken installation */
export const EXIT_INTERNAL = 3;

/** A command-line mistake: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A problem with the user's input files, already explained on stderr or in the message: exit 1. */
export class InputError extends Error {}
