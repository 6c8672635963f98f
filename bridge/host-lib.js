// emscripten --js-library: the imports of bridge/host.c. Each forwards to the
// host object given to the module factory as `tlnHost` (src/bridge/), which
// answers with Linux errno numbers.
mergeInto(LibraryManager.library, {
  tln_host_bpf: function (cmd, attr, size) {
    return Module['tlnHost']['bpf'](cmd, attr >>> 0, size >>> 0);
  },
  tln_host_perf_event_open: function (attr, pid, cpu, groupFd, flags) {
    return Module['tlnHost']['perfEventOpen'](attr >>> 0, pid, cpu, groupFd, flags >>> 0);
  },
  tln_host_close: function (fd) {
    return Module['tlnHost']['close'](fd);
  },
  tln_host_log: function (level, msg, len) {
    Module['tlnHost']['log'](level, UTF8ToString(msg, len));
  },
});
