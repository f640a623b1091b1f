# deepstudio in a container, next to LM Studio on the same machine.
# Use it through docker-compose.yml (it sets the LM Studio URL and the access token); the
# per-OS networking notes are there and in docs/lmstudio.md ("Docker").
#
# Pinned to the Deno version the project is developed and tested with.
FROM denoland/deno:2.9.6

# The image's non-root "deno" user owns the app and the data volume.
RUN mkdir -p /app /data && chown deno:deno /app /data
WORKDIR /app
USER deno

# npm dependencies first: this layer is reused until deno.json or deno.lock change.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install

# The source, then the islands' client bundle (static/build/) and every module main.ts loads,
# so the container starts without downloading anything.
COPY --chown=deno:deno . .
RUN deno task build && deno cache main.ts

# Inside a container the app must listen on all interfaces to be reachable through the published
# port; startup then refuses to run without DEEPSTUDIO_ACCESS_TOKEN (set it in compose / -e).
# Settings and history live in Deno KV on the /data volume.
# GLIBC_TUNABLES: glibc's malloc settings of `deno task start` (scripts/compile.ts MALLOC_TUNABLES
# says why: RSS falls back after a load).
ENV DEEPSTUDIO_HOST=0.0.0.0 \
    DEEPSTUDIO_PORT=5000 \
    DEEPSTUDIO_KV=/data/deepstudio.kv \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=16384:glibc.malloc.trim_threshold=32768:glibc.malloc.top_pad=0
VOLUME ["/data"]
EXPOSE 5000

# No curl in the image: deno itself GETs /api/health (scripts/healthcheck.ts).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["deno", "run", "--no-config", "--allow-net", "--allow-env=DEEPSTUDIO_HOST,DEEPSTUDIO_PORT,DEEPSTUDIO_ACCESS_TOKEN", "/app/scripts/healthcheck.ts"]

# The image's entrypoint runs `deno <CMD>`; the permissions and V8 flags are those of
# `deno task start` (the flags keep memory flat: scripts/compile.ts V8_FLAGS says why).
CMD ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", "--v8-flags=--max-semi-space-size=1,--memory-reducer-delay-ms=1000,--gc-memory-reducer-start-delay-ms=1000", "main.ts"]
