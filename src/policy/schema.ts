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

const anyObject: Schema = { type: 'object' };
const intOrString: Schema = { type: ['integer', 'string'] };

const argFields: Record<string, Schema> = {
  index: integer,
  type: string,
  label: string,
  sizeArgIndex: integer,
  returnCopy: boolean,
  maxData: boolean,
  resolve: string,
  source: string,
  btfType: string,
  btfTypeModule: string,
};

// `type` may be absent: the CRD default is auto (the core refuses auto where Tetragon does)
const arg = closed(argFields, { required: ['index'] });

const returnArg = closed(argFields, { required: ['index'] });

const matchArg = closed({ index: integer, args: list(integer), operator: string, values }, { required: ['operator'] });

const matchReturnArg = closed({ index: integer, args: list(integer), operator: string, values }, { required: ['operator'] });

const matchBinary = closed({ operator: string, values, followChildren: boolean }, { required: ['operator', 'values'] });

const matchPID = closed({ operator: string, values, isNamespacePID: boolean, followForks: boolean }, { required: ['operator', 'values'] });

const matchNamespace = closed({ namespace: string, operator: string, values }, { required: ['namespace', 'operator', 'values'] });
const matchNamespaceChange = closed({ operator: string, values }, { required: ['operator', 'values'] });
const matchCapability = closed({ type: string, operator: string, isNamespaceCapability: boolean, values }, { required: ['operator', 'values'] });

const matchAction = closed(
  {
    action: string,
    argSig: integer,
    argError: integer,
    rateLimit: string,
    rateLimitScope: string,
    argFqdn: string,
    argUrl: string,
    argSock: integer,
    argIndex: integer,
    argValue: intOrString,
    argRegs: stringList,
    argNewAddr: intOrString,
    argNewOffset: intOrString,
    argNewSymbol: string,
    kernelStackTrace: boolean,
    userStackTrace: boolean,
    imaHash: boolean,
  },
  // argFd/argName belonged to FollowFD/CopyFD, removed from Tetragon
  { required: ['action'], unsupported: ['argFd', 'argName'] },
);

const selectorFields: Record<string, Schema> = {
  label: string,
  macros: stringList,
  matchArgs: list(matchArg),
  matchData: list(matchArg),
  matchReturnArgs: list(matchReturnArg),
  matchBinaries: list(matchBinary),
  matchParentBinaries: list(matchBinary),
  matchPIDs: list(matchPID),
  matchNamespaces: list(matchNamespace),
  matchNamespaceChanges: list(matchNamespaceChange),
  matchCapabilities: list(matchCapability),
  matchCapabilityChanges: list(matchCapability),
  matchWorkloads: anyObject,
  matchActions: list(matchAction),
  matchReturnActions: list(matchAction),
};
const selector = closed(selectorFields);

const kprobe = closed(
  {
    call: string,
    syscall: boolean,
    return: boolean,
    message: string,
    tags: stringList,
    args: list(arg),
    data: list(arg),
    returnArg,
    returnArgAction: string,
    selectors: list(selector),
    ignore: closed({ callNotFound: boolean }),
  },
  { required: ['call'] },
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

const lsmhook = closed({ hook: string, message: string, tags: stringList, args: list(arg), selectors: list(selector) }, { required: ['hook'] });

const uprobe = closed(
  {
    path: string,
    btfPath: string,
    symbols: stringList,
    offsets: list({ type: ['integer', 'string'] }),
    addrs: list({ type: ['integer', 'string'] }),
    refCtrOffsets: list({ type: ['integer', 'string'] }),
    return: boolean,
    message: string,
    tags: stringList,
    args: list(arg),
    data: list(arg),
    returnArg,
    selectors: list(selector),
    binaryDigests: stringList,
    ignore: closed({ digestVerificationFailure: boolean, callNotFound: boolean }),
  },
  { required: ['path'] },
);

const usdt = closed(
  {
    path: string,
    btfPath: string,
    provider: string,
    name: string,
    message: string,
    tags: stringList,
    args: list(arg),
    selectors: list(selector),
  },
  // the CRD does not require them: an entry without them compiles and cannot attach
);

const option = closed({ name: string, value: string }, { required: ['name'] });

const spec = closed({
  kprobes: list(kprobe),
  fentries: list(kprobe),
  tracepoints: list(tracepoint),
  lsmhooks: list(lsmhook),
  uprobes: list(uprobe),
  usdts: list(usdt),
  options: list(option),
  podSelector: labelSelector,
  containerSelector: labelSelector,
  hostSelector: labelSelector,
  nodeSelector: labelSelector,
  enforcers: list(closed({ calls: stringList })),
  lists: list(closed({ name: string, values: stringList, type: string, pattern: string, validated: boolean }, { required: ['name'] })),
  selectorsMacros: { type: 'object', additionalProperties: selector },
  loader: boolean,
});

// what an API server adds to every object it returns (kubectl get -o yaml)
const metadata = closed(
  {
    name: string,
    namespace: string,
    labels: stringMap,
    annotations: stringMap,
    generateName: string,
    uid: string,
    resourceVersion: string,
    generation: integer,
    creationTimestamp: { type: ['string', 'null'] },
    deletionTimestamp: string,
    deletionGracePeriodSeconds: integer,
    ownerReferences: list(anyObject),
    finalizers: stringList,
    managedFields: list(anyObject),
    selfLink: string,
  },
  { required: ['name'] },
);

/** JSON schema (draft-07) of one TracingPolicy / TracingPolicyNamespaced document. */
export const policySchema: Schema = closed(
  { apiVersion: string, kind: string, metadata, spec, status: anyObject },
  { required: ['apiVersion', 'kind', 'metadata', 'spec'] },
);

/** the fields of a selector, as the schema accepts them (tests check the evaluator covers each) */
export const SELECTOR_FIELDS: readonly string[] = Object.keys(selectorFields);
