// Colours for human output, in the manner of `tetra getevents --color auto|always|never`.

import kleur from 'kleur';

export type ColorMode = 'auto' | 'always' | 'never';

export const COLOR_MODES: readonly ColorMode[] = ['auto', 'always', 'never'];

export interface Colorer {
  readonly enabled: boolean;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  magenta(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const identity = (s: string): string => s;

const PLAIN: Colorer = Object.freeze({
  enabled: false,
  red: identity,
  green: identity,
  yellow: identity,
  blue: identity,
  magenta: identity,
  cyan: identity,
  dim: identity,
  bold: identity,
});

/**
 * `auto` colours when the stream is a terminal and neither NO_COLOR nor
 * TERM=dumb says otherwise (FORCE_COLOR=1 forces colours on).
 */
export function colorEnabled(mode: ColorMode, stream?: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return stream?.isTTY === true;
}

export function createColorer(mode: ColorMode, stream?: { isTTY?: boolean }): Colorer {
  if (!colorEnabled(mode, stream)) return PLAIN;
  // kleur's switch is global; colourless colorers never call kleur, so turning it
  // on here only affects colorers that want colour.
  kleur.enabled = true;
  return {
    enabled: true,
    red: (s) => kleur.red(s),
    green: (s) => kleur.green(s),
    yellow: (s) => kleur.yellow(s),
    blue: (s) => kleur.blue(s),
    magenta: (s) => kleur.magenta(s),
    cyan: (s) => kleur.cyan(s),
    dim: (s) => kleur.dim(s),
    bold: (s) => kleur.bold(s),
  };
}

export const plainColorer: Colorer = PLAIN;
