// ESLint (flat config): the recommended rules of ESLint and typescript-eslint,
// and the import boundaries of the layer table in docs/design.md, so that a
// layer reaching into another is a lint error instead of a review comment.
//
// assembly/ is not linted here: it is AssemblyScript (i32, @inline, load<T>),
// which its own compiler checks; the TypeScript rules do not fit it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Which layers of src/ each layer may import (docs/design.md, "Layers and who
 * owns what"). The core is the bottom: it imports no other layer. The kernel
 * loader, the policy loader, events and pods build on the core only; the agent
 * puts them together; the CLI sits on top.
 */
const LAYERS = {
  core: [],
  policy: ['core'],
  events: ['core'],
  kernel: ['core'],
  pods: ['core'],
  // the APIs speak Tetragon's event protocol: event kinds and filters are src/events'
  api: ['core', 'events'],
  // the bridge asks the kernel catalog which programs a policy needs
  bridge: ['core', 'kernel'],
  agent: ['core', 'policy', 'events', 'kernel', 'pods', 'api'],
  cli: ['core', 'policy', 'events', 'kernel', 'pods', 'api', 'agent', 'bridge'],
};

/** Nothing in src/ depends on the tests (test doubles and helpers live in test/helpers/). */
const NOT_TEST = { regex: '^(\\.\\./)+test(/|$)', message: 'src/ never imports test code: test doubles and helpers live in test/helpers/.' };
const NOT_UVU = { name: 'uvu', message: 'src/ never imports the test runner.' };

function boundaries(layer, allowed) {
  const others = Object.keys(LAYERS).filter((l) => l !== layer && !allowed.includes(l));
  const patterns = [NOT_TEST];
  if (others.length > 0) {
    patterns.push({
      // a relative import that leaves this layer's folder for a forbidden one
      // (every file of a layer sits at most one level below src/<layer>/)
      regex: `^(\\.\\./)+(${others.join('|')})(/|$)`,
      message: `src/${layer} may import ${allowed.length ? allowed.map((l) => `src/${l}`).join(', ') : 'no other layer'} (the layer table in docs/design.md).`,
    });
  }
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', { paths: [NOT_UVU], patterns }],
      // the same for import('...'), which no-restricted-imports does not see (esquery regexes cannot hold a '/': \x2F)
      'no-restricted-syntax': [
        'error',
        ...patterns.map((p) => ({ selector: `ImportExpression[source.value=/${p.regex.replaceAll('/', '\\x2F')}/]`, message: p.message })),
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'assembly/', 'bpf/', 'shim/', 'examples/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        WebAssembly: 'readonly',
        NodeJS: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
      },
    },
    rules: {
      // unused arguments named _x are deliberate (interfaces, callbacks)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // matching control characters is the point of those regexes: JSON escapes, ANSI colour codes
      'no-control-regex': 'off',
      // errors are re-thrown with short context in the message (docs: "Errors with context");
      // the message of the caught error is part of the new one
      'preserve-caught-error': 'off',
      // it flags the index updates of the hand-written parsers (src/events/record.ts) that keep
      // their state consistent before a break
      'no-useless-assignment': 'off',
      // src/core/wasm.ts keeps the one live core as `self` for the Wasm module's import callbacks
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // the tests index freely into JSON from the agent and the CLI
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  ...Object.entries(LAYERS).map(([layer, allowed]) => boundaries(layer, allowed)),
);
