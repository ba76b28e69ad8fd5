{
  "targets": [
    {
      "target_name": "fdsock",
      "sources": ["src/native/fdsock.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
