// mri (sade's parser) drops a lone "-" argument; main.ts carries it through
// as this token and the commands turn it back into "-" (stdin).
export const STDIN_TOKEN = '\u0000-';
