{
  "targets": [
    {
      "target_name": "tln_shim",
      "sources": ["tln_shim.c"],
      "cflags": ["-O2", "-Wall", "-Wno-unused-parameter", "-std=gnu11"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread"]
    }
  ]
}
