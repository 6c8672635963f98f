{
  "targets": [
    {
      "target_name": "tln_shim",
      "sources": ["module.c", "napi.c", "probe.c", "object.c", "maps.c", "ringbuf.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror", "-std=gnu11", "-fvisibility=hidden"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread"]
    }
  ]
}
