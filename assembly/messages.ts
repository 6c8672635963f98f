// Every diagnostic and error text of the core, in one place.
// Style: say what is wrong with the value as written, then what is accepted.

function q(s: string): string {
  return '"' + s + '"';
}

// ---- value syntax (parse.ts) ----
export function notAnInteger(t: string): string {
  return q(t) + " is not an integer (decimal, 0x hex, 0o or leading-0 octal, 0b binary)";
}
export function badOctal(t: string): string {
  return q(t) + " is not an integer: a leading 0 means octal, where 8 and 9 are not digits";
}
export function intTooLarge(t: string): string {
  return q(t) + " does not fit in 64 bits";
}
export function intOutOfRange(t: string, type: string, min: string, max: string): string {
  return q(t) + " is out of range for " + type + " (" + min + " to " + max + ")";
}
export function intNegativeUnsigned(t: string, type: string): string {
  return q(t) + " is negative but " + type + " is unsigned";
}
export function inValue(t: string, err: string): string {
  if (err.startsWith(q(t))) return "value " + err;
  return "value " + q(t) + ": " + err;
}
export function addrZone(t: string): string {
  return "value " + q(t) + ": IPv6 zone ids (%) are not supported";
}
export function badPrefixLen(t: string, ps: string): string {
  return "value " + q(t) + ": prefix length " + q(ps) + " is not a number";
}
export function badAddress(t: string): string {
  return "value " + q(t) + " is not an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, fd00::/8)";
}
export function prefixOutOfRange(t: string, plen: i32, max: i32): string {
  return "value " + q(t) + ": prefix length " + plen.toString() + " is out of range 0-" + max.toString();
}
export function unexpandedVariable(t: string): string {
  return "value " + q(t) + " contains an unexpanded variable: substitute it with an address or CIDR before loading";
}
export function cidrHostBits(t: string, plen: i32): string {
  return "value " + q(t) + " has bits set beyond the /" + plen.toString() + " prefix; they are ignored";
}
export function notARange(t: string): string {
  return "value " + q(t) + ' is not a range (expected "min:max", e.g. "0:1023")';
}
export function emptyRange(t: string): string {
  return "value " + q(t) + " is an empty range (min is greater than max)";
}
export function badPort(t: string): string {
  return "value " + q(t) + ' is not a port (0-65535) or port range ("lo:hi")';
}
export function badProtocol(t: string): string {
  return "value " + q(t) + " is not a protocol (IPPROTO_TCP, IPPROTO_UDP, ... or a number 0-65535)";
}
export function badFamily(t: string): string {
  return "value " + q(t) + " is not an address family (AF_INET, AF_INET6, AF_UNIX or a number 0-65535)";
}
export function badState(t: string): string {
  return "value " + q(t) + " is not a TCP state (TCP_ESTABLISHED ... TCP_NEW_SYN_RECV or a number 0-255)";
}
export function badSignal(t: string): string {
  return "argSig " + q(t) + " is not a signal (1-64 or a name such as SIGKILL, SIGTERM)";
}
export function stringTooLong(t: string, n: i32, max: i32, op: string): string {
  const shown = t.length > 40 ? t.substring(0, 40) + "..." : t;
  return "value " + q(shown) + " is " + n.toString() + " bytes, at most " + max.toString() + " for " + op;
}

// ---- document ----
export function missingField(field: string, hint: string): string {
  return field + " is required (" + hint + ")";
}
export function badApiVersion(s: string): string {
  return "apiVersion " + q(s) + " is not supported (expected cilium.io/v1alpha1)";
}
export function badKind(s: string): string {
  return "kind " + q(s) + " is not supported (expected TracingPolicy or TracingPolicyNamespaced)";
}
export function badPolicyName(s: string): string {
  return "metadata.name " + q(s) +
    " is not a valid name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (at most 253 characters)";
}
export function badNamespace(s: string): string {
  return "metadata.namespace " + q(s) +
    " is not a valid namespace: use lowercase letters, digits and '-', starting and ending with a letter or digit (at most 63 characters)";
}
export function badDefaultNamespace(s: string): string {
  return "the policy is namespaced and has no metadata.namespace, and the default namespace " + q(s) +
    " is not a valid namespace: set metadata.namespace";
}
export function clusterWithNamespace(s: string): string {
  return "a TracingPolicy is cluster-wide and cannot have metadata.namespace " + q(s) +
    " (use kind TracingPolicyNamespaced to scope it to a namespace)";
}
export function duplicatePolicy(name: string, ns: string, firstDoc: i32): string {
  if (ns.length == 0) return "cluster-wide policy " + q(name) + " is defined twice (first in document " + firstDoc.toString() + ")";
  return "policy " + q(name) + " in namespace " + q(ns) + " is defined twice (first in document " + firstDoc.toString() + ")";
}
export function noHooks(): string {
  return "the policy has no kprobes, tracepoints or uprobes; it does nothing";
}
export function mixedHookKinds(first: string, other: string): string {
  return "a policy may use only one of kprobes, tracepoints, lsmhooks, uprobes, usdts and fentries (as in Tetragon); this one has " + first + " and " + other +
    ": put the " + other + " in a policy of their own";
}

// ---- options / modes ----
export function duplicateOption(name: string): string {
  return "option " + q(name) + " is given twice";
}
export function optionNeedsValue(name: string, expected: string): string {
  return "option " + q(name) + " needs a value (" + expected + ")";
}
export function badPolicyMode(v: string): string {
  return "policy-mode " + q(v) + " is invalid (expected enforce or monitor)";
}
export function optionUnsupported(name: string): string {
  return "option " + q(name) + " is not supported by talon yet";
}
export function unknownOption(name: string): string {
  return "unknown option " + q(name) + " (known: policy-mode)";
}
export function loadModeOnMonitorOnly(policy: string, mode: string): string {
  return "policy " + q(policy) + " has no enforcement action (Sigkill, Signal or Override): it runs as monitor_only and the load-time mode " +
    q(mode) + " has no effect";
}
export function badLoadMode(mode: string): string {
  return "invalid load-time mode " + q(mode) + " (expected enforce or monitor)";
}
export function compileInput(): string {
  return "compile: expected [documents, options]";
}
export function badRuntimeMode(mode: string): string {
  return "invalid mode " + q(mode) + " (expected enforce or monitor)";
}
export function runtimeModeMonitorOnly(policy: string): string {
  return "policy " + q(policy) + " is monitor_only (it has no enforcement action); its mode cannot be set";
}
export function noSuchPolicy(index: i32, count: i32): string {
  return "no policy with index " + index.toString() + " (the image has " + count.toString() + ")";
}

// ---- scoping ----
export function hostSelectorNamespaced(): string {
  return "hostSelector cannot be used in a TracingPolicyNamespaced (it applies to pods of its namespace only)";
}
export function hostSelectorNotEmpty(): string {
  return "hostSelector must be {} (all host processes) or absent; selecting hosts by label is not supported";
}
export function badLabelOperator(op: string): string {
  return "unknown label selector operator " + q(op) + " (expected one of In, NotIn, Exists, DoesNotExist)";
}
export function labelOpNeedsValues(op: string): string {
  return op + " needs at least one value";
}
export function labelOpTakesNoValues(op: string): string {
  return op + " takes no values";
}
export function badContainerKey(key: string): string {
  return "containerSelector key " + q(key) + " is not supported (expected name or repo)";
}
export function emptyLabelKey(): string {
  return "label key is empty";
}

// ---- hooks ----
export function tooManyHooks(n: i32, max: i32): string {
  return n.toString() + " kprobes given, at most " + max.toString() + " per policy";
}
export function tooManyHooksOf(n: i32, what: string, max: i32): string {
  return n.toString() + " hooks from " + what + ", at most " + max.toString() + " per policy";
}
export function badTracefsName(field: string, s: string): string {
  return field + " " + q(s) + " is not a tracepoint name (letters, digits and _, as under /sys/kernel/tracing/events)";
}
export function rawTracepointUnsupported(): string {
  return "raw: true (raw tracepoints) is not supported by talon yet";
}
export function tracepointArgIndex(idx: i32): string {
  return "index " + idx.toString() + " is out of range: a tracepoint format has at most 256 fields";
}
export function uprobesNamespaced(): string {
  return "uprobes cannot be used in a TracingPolicyNamespaced (as in Tetragon: a binary path means nothing per namespace); use a TracingPolicy, with a podSelector to scope it";
}
export function emptyUprobePath(): string {
  return "path is empty (expected the binary or library to probe, e.g. /bin/bash)";
}
export function uprobeFieldUnsupported(f: string): string {
  if (f == "offsets" || f == "addrs") return f + " is not supported by talon yet (name the functions in symbols)";
  return f + " is not supported by talon yet";
}
export function uprobeReturnUnsupported(): string {
  return "return probes on uprobes (return, returnArg) are not supported by talon yet";
}
export function noUprobeSymbols(): string {
  return "symbols is empty (expected the functions to probe, e.g. [readline])";
}
export function badUprobeSymbol(s: string): string {
  return "symbol " + q(s) + " is not a symbol name (non-empty, no ':' or '/')";
}
export function duplicateUprobeSymbol(s: string): string {
  return "symbol " + q(s) + " is listed twice";
}
export function uprobeArgIndex(idx: i32, n: i32): string {
  return "index " + idx.toString() + " is out of range: talon reads the first " + n.toString() + " arguments of a uprobe (0 to " + (n - 1).toString() + ") from registers";
}
export function argTypeNotOnHook(tn: string, hook: string): string {
  return "argument type " + q(tn) + " cannot be used on " + hook + " (use an integer type such as int or uint64, or string)";
}
export function listsUnsupported(s: string): string {
  return q(s) + ": lists (list:NAME) are not supported by talon yet";
}
export function unknownCall(call: string, names: string): string {
  return "kprobe call " + q(call) + " is not supported by talon yet (supported: " + names + ")";
}
export function notASyscall(name: string): string {
  return name + " is not a syscall: remove syscall: true";
}
export function returnNeedsReturnArg(): string {
  return "return: true needs returnArg (the type of the return value)";
}
export function returnArgWithoutReturn(): string {
  return "returnArg has no effect without return: true";
}
export function returnTypeUnsupported(tn: string): string {
  return "returnArg type " + q(tn) + " is not supported by talon yet (integer types only, e.g. int)";
}
export function returnArgActionUnsupported(): string {
  return "returnArgAction is not supported by talon yet";
}
export function messageTooLong(n: i32, max: i32): string {
  return "message is " + n.toString() + " characters, at most " + max.toString();
}
export function tooManyTags(n: i32, max: i32): string {
  return n.toString() + " tags given, at most " + max.toString();
}
export function tooManyArgs(n: i32, max: i32): string {
  return n.toString() + " args given, at most " + max.toString() + " per hook";
}
export function unknownArgType(tn: string, names: string): string {
  return "unknown argument type " + q(tn) + " (expected one of " + names + ")";
}
export function argTypeUnsupported(tn: string): string {
  return "argument type " + q(tn) + " is not supported by talon yet";
}
export function badArgIndex(t: string): string {
  return "index " + t + " is not a valid argument position";
}
export function duplicateArgIndex(idx: i32, j: i32): string {
  return "argument " + idx.toString() + " is already declared by args[" + j.toString() + "]";
}
export function argIndexOutOfSignature(idx: i32, name: string, n: i32, sig: string): string {
  return "index " + idx.toString() + " is out of range: " + name + " has " + n.toString() + " argument" +
    (n == 1 ? "" : "s") + " (" + sig + ")";
}
export function argTypeMismatch(idx: i32, name: string, decl: string, tn: string, want: string): string {
  return "argument " + idx.toString() + " of " + name + " is " + q(decl) + ": type " + q(tn) + " does not fit (use " + want + ")";
}

// ---- selectors ----
export function tooManySelectors(n: i32, max: i32): string {
  return n.toString() + " selectors given, at most " + max.toString() + " per hook";
}
export function tooManyArgFilters(n: i32, max: i32): string {
  return n.toString() + " matchArgs entries given, at most " + max.toString() + " per selector";
}
export function tooManyFilters(max: i32): string {
  return "too many filters: matchArgs and matchReturnArgs together allow at most " + max.toString() + " per selector";
}
export function returnArgsNeedReturn(): string {
  return "matchReturnArgs needs return: true and returnArg on the hook";
}
export function tooManyBinaryFilters(n: i32): string {
  return n.toString() + " matchBinaries entries given, at most 1 per selector";
}
export function tooManyPidFilters(n: i32): string {
  return n.toString() + " matchPIDs entries given, at most 1 per selector in talon";
}
export function tooManyActions(n: i32, max: i32): string {
  return n.toString() + " matchActions given, at most " + max.toString() + " per selector";
}
export function duplicateAction(name: string): string {
  return "action " + name + " is listed twice in this selector";
}
export function postAndNoPost(): string {
  return "Post and NoPost contradict each other in one selector";
}
export function argsFormOne(n: i32): string {
  return "args lists " + n.toString() + " positions; talon supports exactly one (a position in the hook's args[])";
}
export function argsPositionOutOfRange(t: string, n: i32): string {
  return "args position " + t + " does not name an entry of args[] (the hook declares " + n.toString() + ")";
}
export function indexNotInArgs(idx: i32, declared: string): string {
  return "index " + idx.toString() + " does not name an entry of args[] (declared indexes: " + declared + ")";
}
export function filterNeedsIndex(): string {
  return "index is required (the function argument position, declared in args[])";
}
export function unknownOperator(op: string, all: string): string {
  return "unknown operator " + q(op) + " (expected one of " + all + ")";
}
export function operatorUnsupported(op: string): string {
  return "operator " + op + " is not supported by talon yet";
}
export function inNotForArgs(op: string, where: string): string {
  return "operator " + op + " is not valid in " + where + " (it is for matchBinaries and matchPIDs; use Equal or NotEqual)";
}
export function operatorTypeMismatch(op: string, arg: string, type: string, allowed: string): string {
  if (allowed.length == 0) return "operator " + op + " cannot be used on " + arg + " of type " + type + " (no operator compares it, as in Tetragon: it is shown in events only)";
  return "operator " + op + " cannot be used on " + arg + " of type " + type + " (valid: " + allowed + ")";
}
export function opTakesNoValues(op: string): string {
  return op + " takes no values (it matches ports below 1024)";
}
export function opNeedsValues(op: string): string {
  return op + " needs at least one value";
}
export function tooManyInline(n: i32, max: i32, op: string, type: string, alt: string): string {
  let s = n.toString() + " values given, at most " + max.toString() + " for " + op + " on " + type;
  if (alt.length > 0) s += " (use " + alt + " for more)";
  return s;
}
export function tooManyRanges(n: i32, max: i32, op: string): string {
  return n.toString() + " ranges given, at most " + max.toString() + " for " + op + " (use InMap with \"a:b\" ranges for more)";
}
export function tooManySockValues(n: i32, max: i32, op: string): string {
  return n.toString() + " values given, at most " + max.toString() + " for " + op;
}
export function mapTooLarge(t: string, max: i32): string {
  return "value " + q(t) + " makes the policy's InMap/NotInMap values exceed " + max.toString() + " (ranges count every value)";
}
export function tooManySets(max: i32): string {
  return "too many distinct value sets in this policy (at most " + max.toString() + ")";
}

// ---- matchBinaries / matchPIDs ----
export function followChildrenUnsupported(): string {
  return "followChildren is not supported by talon yet";
}
export function badBinaryOperator(op: string, list: string): string {
  return "operator " + q(op) + " is not valid in matchBinaries (expected one of " + list + ")";
}
export function followForksUnsupported(): string {
  return "followForks is not supported by talon yet";
}
export function badPidOperator(op: string): string {
  return "operator " + q(op) + " is not valid in matchPIDs (expected In or NotIn)";
}
export function tooManyPids(n: i32, max: i32): string {
  return n.toString() + " values given, at most " + max.toString() + " for matchPIDs";
}

// ---- matchActions ----
export function actionUnsupported(s: string): string {
  return "action " + s + " is not supported by talon yet (supported: Post, NoPost, Sigkill, Signal, Override)";
}
export function unknownAction(s: string): string {
  return "unknown action " + q(s) + " (expected one of Post, NoPost, Sigkill, Signal, Override, GetUrl, DnsLookup, TrackSock, UntrackSock, NotifyEnforcer, CleanupEnforcerNotification, Set)";
}
export function signalNeedsArgSig(): string {
  return "Signal needs argSig (the signal number or name, e.g. 9 or SIGKILL)";
}
export function overrideNeedsArgError(): string {
  return "Override needs argError (the error to return, e.g. -1 for -EPERM)";
}
export function overrideNotOnHook(kind: string): string {
  if (kind == "tracepoint") return "Override is not possible on a tracepoint (it cannot change what the traced code does; Tetragon does not offer it either): use Sigkill or Signal";
  return "Override is not supported on uprobes by talon (it would rewrite the probed function's registers): use Sigkill or Signal";
}
export function overrideNotAllowed(name: string): string {
  return "Override is only possible on security_* hooks and syscalls; " + name + " is neither (use Sigkill or Signal)";
}
export function argIgnored(arg: string, action: string, owner: string): string {
  return arg + " is ignored by " + action + " (only " + owner + " uses it)";
}
export function badRateLimit(t: string): string {
  return "rateLimit " + q(t) + ' is invalid (expected a positive count of seconds, minutes or hours: "10", "10s", "5m", "1h")';
}
export function badRateLimitScope(s: string): string {
  return "rateLimitScope " + q(s) + " is invalid (expected thread, process or global)";
}
export function scopeWithoutRateLimit(): string {
  return "rateLimitScope has no effect without rateLimit";
}
export function rateLimitOnlyPost(action: string): string {
  return "rate limiting is only valid with Post, not " + action;
}
export function postOptionUnsupported(f: string): string {
  return f + " is not supported by talon yet";
}

// ---- images ----
export function imageTruncated(): string {
  return "image is truncated or corrupt";
}
export function imageBadMagic(): string {
  return "not a talon image (bad magic)";
}
export function imageBadVersion(v: u32, want: u32): string {
  return "image version " + v.toString() + " is not supported (this core reads version " + want.toString() + ")";
}

// ---- map updates ----
export function noPolicyConf(): string {
  return "map updates: the policy's maps have no tln_policy entry (or are truncated)";
}
// ---- the language beyond the seed (hooks, args, selectors, actions, lists, options) ----
export function actionRemoved(s: string): string {
  return "action " + s + " was removed from Tetragon (FollowFD, UnfollowFD and CopyFD are gone at HEAD); use a file or fd argument type instead";
}
export function actionNeedsArg(action: string, field: string, hint: string): string {
  return action + " needs " + field + " (" + hint + ")";
}
export function emptyActionArg(action: string, field: string): string {
  return action + ": " + field + " is empty";
}
export function actionNotOnHook(action: string, kind: string): string {
  return "action " + action + " is not possible on a " + kind + " (Tetragon refuses it there too)";
}
export function badActionArgIndex(action: string, field: string, t: string): string {
  return action + ": " + field + " " + q(t) + " is not an argument position (0 to 4)";
}
export function overrideOneNewTarget(): string {
  return "Override: at most one of argNewSymbol, argNewAddr and argNewOffset";
}
export function badArgReg(r: string): string {
  return "argRegs entry " + q(r) + " is not of the form register=expression (e.g. rax=1)";
}
export function overrideUprobeOnly(f: string): string {
  return f + " is only for Override on uprobes";
}
export function stackTraceNotOnHook(kind: string): string {
  return "stack traces are not available on a " + kind + " (Tetragon: kprobes, tracepoints, uprobes)";
}
export function imaHashNotOnHook(kind: string): string {
  return "imaHash is not available on a " + kind + " (Tetragon: kprobes and LSM hooks)";
}
export function unknownFieldValue(field: string, v: string, expected: string): string {
  return "unknown " + field + " " + q(v) + " (expected one of " + expected + ")";
}
export function badSyscallName(call: string): string {
  return q(call) + " is not a syscall function name (expected sys_NAME, __x64_sys_NAME, __arm64_sys_NAME or NAME)";
}
export function badFunctionName(call: string): string {
  return q(call) + " is not a kernel function name ([A-Za-z0-9_.] only)";
}
export function badLsmHook(h: string): string {
  return q(h) + " is not an LSM hook name (the name without security_, e.g. file_open)";
}
export function lsmHookPrefix(h: string): string {
  return "LSM hook " + q(h) + ": write it without security_ (" + q(h.substring(9)) + ")";
}
export function unknownList(name: string, known: string): string {
  return "list " + q(name) + " is not defined in spec.lists (defined: " + known + ")";
}
export function notASyscallName(list: string, value: string): string {
  return "list " + q(list) + ": " + q(value) + " is not an x86_64 syscall (talon's BPF programs are built for x86_64)";
}
export function listOnlyForCall(name: string): string {
  return q(name) + ": a list of type generated_syscalls/generated_ftrace has no values to match; use it in call";
}
export function duplicateList(name: string): string {
  return "list " + q(name) + " is defined twice";
}
export function listNeedsValues(name: string, type: string): string {
  return "list " + q(name) + (type.length > 0 ? " of type " + type : " (no type: function names)") + " needs values";
}
export function listNotValues(name: string): string {
  return "list " + q(name) + " has no type: it names functions; as values it needs type syscalls or generated_syscalls (syscall ids)";
}
export function listInKprobeOnly(): string {
  return "list:NAME in call is only for kprobes and fentries";
}
export function autoTypeOnKprobe(t: string): string {
  return "argument type " + q(t) + " is not allowed on kprobes (Tetragon refuses it): name the type";
}
export function syscall64NotRawSyscalls(): string {
  return "argument type \"syscall64\" is only for the raw_syscalls tracepoints";
}
export function sizeArgIndexRange(n: string): string {
  return "sizeArgIndex " + q(n) + " must name a function argument (1-based, 1 to 5)";
}
export function sizeArgIndexType(t: string): string {
  return "sizeArgIndex is for char_buf and char_iovec arguments, not " + t;
}
export function maxDataType(t: string): string {
  return "maxData is for char_buf, char_iovec and iov_iter arguments, not " + t;
}
export function maxDataReturnCopy(): string {
  return "maxData cannot be used with returnCopy (Tetragon's rule)";
}
export function badResolve(r: string): string {
  return "resolve " + q(r) + " is not a dotted field path (e.g. mm.owner.real_parent.comm, a[3] for arrays)";
}
export function resolveNotOnUprobe(): string {
  return "resolve is not available on uprobes (no kernel BTF for user code)";
}
export function badDataSource(s: string): string {
  return "data source " + q(s) + " is not one of current_task, pt_regs";
}
export function tooManyArgsData(n: i32, max: i32): string {
  return n.toString() + " args and data entries given, at most " + max.toString() + " per hook (Tetragon's limit)";
}
export function badNamespaceType(s: string): string {
  return "namespace " + q(s) + " is not one of Uts, Ipc, Mnt, Pid, PidForChildren, Net, Time, TimeForChildren, Cgroup, User";
}
export function badNamespaceValue(s: string): string {
  return "value " + q(s) + " is not a namespace inode number or host_ns";
}
export function badCapability(s: string): string {
  return "value " + q(s) + " is not a capability name (CAP_SYS_ADMIN ...)";
}
export function badCapType(s: string): string {
  return "capability type " + q(s) + " is not one of Effective, Inheritable, Permitted";
}
export function inNotInOnly(filter: string, op: string): string {
  return filter + " takes In or NotIn, not " + op;
}
export function tooManyFilterValues(filter: string, n: i32, max: i32): string {
  return filter + ": " + n.toString() + " values given, at most " + max.toString();
}
export function tooManyFilterEntries(filter: string, n: i32, max: i32): string {
  return n.toString() + " " + filter + " entries given, at most " + max.toString() + " per selector";
}
export function unknownMacro(name: string, known: string): string {
  return "selector macro " + q(name) + " is not defined in spec.selectorsMacros (defined: " + known + ")";
}
export function macroFieldTwice(field: string, name: string): string {
  return field + " appears both in the selector and in its macro " + q(name) + " (Tetragon's rule)";
}
export function badFileType(s: string): string {
  return "value " + q(s) + " is not a file type (sock, lnk, reg, blk, dir, chr, fifo and their long names)";
}
export function capsGainedArgs(n: i32): string {
  return "CapabilitiesGained compares two arguments: args needs 2 positions (new caps, old caps), got " + n.toString();
}
export function celNeedsOneValue(n: i32): string {
  return "CelExpr takes one value, a CEL boolean expression over arg0..argN; got " + n.toString();
}
export function celSyntax(e: string, why: string): string {
  return "CelExpr " + q(e) + ": " + why;
}
export function substringTooLong(t: string): string {
  return "value " + q(t) + " is too long for SubString (under 100 characters)";
}
export function argsFormTwo(n: i32): string {
  return "args lists " + n.toString() + " positions; only CapabilitiesGained uses two, every other operator one";
}
export function optionValueIgnored(name: string): string {
  return "option " + q(name) + " takes no value; it is ignored";
}
export function badOptionValue(name: string, v: string, expected: string): string {
  return "option " + q(name) + ": " + q(v) + " is not " + expected;
}
export function unknownOptionWarn(name: string): string {
  return "unknown option " + q(name) + ": Tetragon ignores it, talon too (known: disable-kprobe-multi, disable-uprobe-multi, override-method, policy-mode, sleepable-preload-size)";
}
export function enforcersOne(n: i32): string {
  return n.toString() + " enforcers given, Tetragon allows one per policy";
}
export function notifyWithoutEnforcer(): string {
  return "NotifyEnforcer needs an enforcer in spec.enforcers (its syscalls are where the decision is applied)";
}
export function usdtField(f: string, hint: string): string {
  return "missing required field " + q(f) + " (" + hint + ")";
}
export function badDigest(d: string): string {
  return "binary digest " + q(d) + " is not sha256:<64 hex digits> or 64 hex digits";
}
export function badUprobeAddr(t: string, f: string): string {
  return f + " value " + q(t) + " is not a non-negative integer";
}
export function uprobeAttachChoice(): string {
  return "give one of symbols, offsets and addrs (Tetragon's rule)";
}
export function refCtrCount(n: i32, m: i32): string {
  return "refCtrOffsets has " + n.toString() + " entries but there are " + m.toString() + " attach points; give one per point";
}
export function specTooLarge(n: i32): string {
  return "the hook's spec record is " + n.toString() + " bytes, more than the image format's 65535";
}
export function nonPolicyDocument(kind: string, av: string): string {
  return "a " + kind + " (" + av + "), not a TracingPolicy: skipped";
}
export function noReturnArg(): string {
  return "return: true needs returnArg (Tetragon's rule)";
}
export function expectedBool(f: string): string {
  return f + " must be true or false";
}
