// bin/talon.js as the shell runs it: the exit codes of each kind of outcome.
// The other CLI suites call main() in process (test/helpers/cli.ts); these,
// with the stdin and stdout pipe tests in cli-compile and cli-dryrun, keep the
// binary itself tested.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { talon } from './helpers/cli.js';

test('exit 0: --help prints the usage on stdout', async () => {
  const r = await talon(['--help']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage/);
  assert.match(r.stdout, /Available Commands/);
});

test('exit 1: an invalid policy', async () => {
  const r = await talon(['compile', '--check', 'test/fixtures/policies/bad-operator.yaml']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /talon compile: 1 error in 1 file\n$/);
});

test('exit 2: a usage error, with a pointer to --help', async () => {
  const r = await talon(['compile', 'examples/egress-cluster.yaml', '--frobnicate']);
  assert.is(r.code, 2);
  assert.is(r.stderr, 'talon compile: unknown option --frobnicate\nRun "talon compile --help" for usage.\n');
});

test.run();
