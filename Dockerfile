# syntax=docker/dockerfile:1
# One image for the API, the relay and the projector (the command picks which); see infra/compose.yaml.
# Not built in CI (no container engine there): scripts/up and scripts/test are the tested path.

FROM node:24-slim AS build
RUN npm install -g pnpm@10.34.9
WORKDIR /app
# Manifests first, so the dependency layer is rebuilt only when they change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json tsconfig.json ./
# pnpm applies the patches in patches/ (package.json `patchedDependencies`) while installing.
COPY patches patches
COPY contracts/package.json contracts/
COPY services/api/package.json services/api/
COPY services/domain/package.json services/domain/
COPY services/runtime/package.json services/runtime/
COPY services/event-store/package.json services/event-store/
COPY services/projector/package.json services/projector/
COPY services/relay/package.json services/relay/
COPY services/testkit/package.json services/testkit/
COPY services/verifier/package.json services/verifier/
RUN pnpm install --frozen-lockfile
COPY contracts contracts
COPY services services
RUN pnpm exec tsc -b

FROM node:24-slim AS runtime
# The commit frozen returns name as their code version: docker build --build-arg CODE_COMMIT=$(git rev-parse HEAD).
ARG CODE_COMMIT
ENV NODE_ENV=production CODE_COMMIT=${CODE_COMMIT}
# Young generation capped at 16 MB a semi-space: Node 24's default grows it to 64 MB a semi-space (128 MB committed),
# most of each service's resident memory under load, for no measurable throughput (docs/performance.md).
ENV NODE_OPTIONS=--max-semi-space-size=16
WORKDIR /app
COPY --from=build /app/package.json /app/pnpm-lock.yaml /app/pnpm-workspace.yaml ./
COPY --from=build /app/patches patches
COPY --from=build /app/contracts/package.json contracts/
COPY --from=build /app/services/api/package.json services/api/
COPY --from=build /app/services/domain/package.json services/domain/
COPY --from=build /app/services/runtime/package.json services/runtime/
COPY --from=build /app/services/event-store/package.json services/event-store/
COPY --from=build /app/services/projector/package.json services/projector/
COPY --from=build /app/services/relay/package.json services/relay/
COPY --from=build /app/services/testkit/package.json services/testkit/
COPY --from=build /app/services/verifier/package.json services/verifier/
# Production dependencies only; pnpm itself does not stay in the image.
RUN npm install -g pnpm@10.34.9 && pnpm install --frozen-lockfile --prod && npm uninstall -g pnpm && rm -rf /root/.cache /root/.local
COPY --from=build /app/contracts/dist contracts/dist
COPY --from=build /app/contracts/openapi.json /app/contracts/asyncapi.json contracts/
COPY --from=build /app/services/api/dist services/api/dist
COPY --from=build /app/services/domain/dist services/domain/dist
COPY --from=build /app/services/runtime/dist services/runtime/dist
COPY --from=build /app/services/event-store/dist services/event-store/dist
COPY --from=build /app/services/projector/dist services/projector/dist
COPY --from=build /app/services/relay/dist services/relay/dist
COPY --from=build /app/services/verifier/dist services/verifier/dist
COPY infra/migrations infra/migrations
# The image's own unprivileged user (uid 1000), never root.
USER node
EXPOSE 8080 9464 9465
# SIGTERM goes straight to node (exec form), which drains and exits (see services/runtime/src/lifecycle.ts).
# The API's young generation is smaller still, and its malloc hands blocks of 64 KiB and more straight back to the
# system (scripts/lib.sh, API_NODE_FLAGS and API_ENV; the same in infra/compose.yaml). `env` execs node, which stays
# the process that gets SIGTERM.
CMD ["env", "MALLOC_MMAP_THRESHOLD_=65536", "node", "--max-semi-space-size=4", "services/api/dist/server.js"]
