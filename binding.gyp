{
  "targets": [
    {
      "target_name": "fdsock",
      "sources": [
        "src/native/addon.c",
        "src/native/dgram.c",
        "src/native/fd.c",
        "src/native/launch.c",
        "src/native/mem.c",
        "src/native/napi.c",
        "src/native/nss.c",
        "src/native/poller.c",
        "src/native/pump.c",
        "src/native/sock.c",
        "src/native/sockaddr.c",
        "src/native/sockfile.c",
        "src/native/spawn.c",
        "src/native/splice.c"
      ],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
