// The shape of the policy documents talon accepts: field names, JSON types and
// required fields. Nothing else lives here: enum values (operators, actions, arg
// types, hooks, modes), value syntax and limits are checked by the Wasm core.
//
// Every object is closed (additionalProperties: false). `x-unsupported` lists the
// fields Tetragon has at that place but talon does not support yet, so that the
// error says so instead of "unknown field".

type Schema = Record<string, unknown>;

const string: Schema = { type: 'string' };
const boolean: Schema = { type: 'boolean' };
const integer: Schema = { type: 'integer' };
/** list values: strings, or numbers meaning their decimal text */
const values: Schema = { type: 'array', items: { type: ['string', 'number'] } };
const stringList: Schema = { type: 'array', items: string };
const stringMap: Schema = { type: 'object', additionalProperties: string };

function closed(properties: Record<string, Schema>, opts: { required?: string[]; unsupported?: string[]; nullable?: boolean } = {}): Schema {
  const s: Schema = {
    type: opts.nullable ? ['object', 'null'] : 'object',
    properties,
    additionalProperties: false,
  };
  if (opts.required?.length) s.required = opts.required;
  if (opts.unsupported?.length) s['x-unsupported'] = opts.unsupported;
  return s;
}

function list(items: Schema): Schema {
  return { type: 'array', items };
}

const labelSelector = closed(
  {
    matchLabels: stringMap,
    matchExpressions: list(closed({ key: string, operator: string, values }, { required: ['key', 'operator'] })),
  },
  { nullable: true },
);

const BTF_ARG_FIELDS = ['sizeArgIndex', 'returnCopy', 'maxData', 'resolve', 'source', 'btfType', 'btfTypeModule'];

const arg = closed({ index: integer, type: string, label: string }, { required: ['index', 'type'], unsupported: BTF_ARG_FIELDS });

const returnArg = closed({ index: integer, type: string }, { required: ['index', 'type'], unsupported: [...BTF_ARG_FIELDS, 'label'] });

const matchArg = closed({ index: integer, args: list(integer), operator: string, values }, { required: ['operator'] });

const matchReturnArg = closed({ index: integer, operator: string, values }, { required: ['operator'], unsupported: ['args'] });

const matchBinary = closed({ operator: string, values }, { required: ['operator', 'values'], unsupported: ['followChildren'] });

const matchPID = closed(
  { operator: string, values, isNamespacePID: boolean, followForks: boolean },
  { required: ['operator', 'values'] },
);

const matchAction = closed(
  { action: string, argSig: integer, argError: integer, rateLimit: string, rateLimitScope: string },
  {
    required: ['action'],
    unsupported: [
      'argFqdn',
      'argUrl',
      'argFd',
      'argName',
      'argIndex',
      'argValue',
      'argSock',
      'argRegs',
      'argNewAddr',
      'argNewOffset',
      'argNewSymbol',
      'kernelStackTrace',
      'userStackTrace',
      'imaHash',
    ],
  },
);

const selector = closed(
  {
    matchArgs: list(matchArg),
    matchReturnArgs: list(matchReturnArg),
    matchBinaries: list(matchBinary),
    matchPIDs: list(matchPID),
    matchActions: list(matchAction),
  },
  {
    unsupported: [
      'matchNamespaces',
      'matchCapabilities',
      'matchData',
      'matchNamespaceChanges',
      'matchCapabilityChanges',
      'matchParentBinaries',
      'matchWorkloads',
      'matchReturnActions',
      'macros',
      'label',
    ],
  },
);

const kprobe = closed(
  {
    call: string,
    syscall: boolean,
    return: boolean,
    message: string,
    tags: stringList,
    args: list(arg),
    returnArg,
    selectors: list(selector),
  },
  { required: ['call'], unsupported: ['data', 'ignore', 'returnArgAction'] },
);

const tracepoint = closed(
  {
    subsystem: string,
    event: string,
    raw: boolean,
    message: string,
    tags: stringList,
    args: list(arg),
    selectors: list(selector),
  },
  { required: ['subsystem', 'event'] },
);

const uprobe = closed(
  {
    path: string,
    symbols: stringList,
    return: boolean,
    message: string,
    tags: stringList,
    args: list(arg),
    returnArg,
    selectors: list(selector),
  },
  { required: ['path'], unsupported: ['offsets', 'addrs', 'refCtrOffsets', 'btfPath', 'binaryDigests', 'data', 'ignore'] },
);

const option = closed({ name: string, value: string }, { required: ['name'] });

const spec = closed(
  {
    kprobes: list(kprobe),
    tracepoints: list(tracepoint),
    uprobes: list(uprobe),
    options: list(option),
    podSelector: labelSelector,
    containerSelector: labelSelector,
    hostSelector: labelSelector,
  },
  {
    unsupported: [
      'lsmhooks',
      'usdts',
      'fentries',
      'enforcers',
      'lists',
      'nodeSelector',
      'selectorsMacros',
      'loader',
    ],
  },
);

const metadata = closed(
  { name: string, namespace: string, labels: stringMap, annotations: stringMap },
  {
    required: ['name'],
    unsupported: [
      'generateName',
      'uid',
      'resourceVersion',
      'generation',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'ownerReferences',
      'finalizers',
      'managedFields',
      'selfLink',
    ],
  },
);

/** JSON schema (draft-07) of one TracingPolicy / TracingPolicyNamespaced document. */
export const policySchema: Schema = closed(
  { apiVersion: string, kind: string, metadata, spec },
  { required: ['apiVersion', 'kind', 'metadata', 'spec'], unsupported: ['status'] },
);
