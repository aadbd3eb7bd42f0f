# syntax=docker/dockerfile:1
# StreamIt's image: one image for the web process, the worker, migrations and createsuperuser.
#   docker build -t streamit .
#   docker run -p 8000:8000 -e JWT_SECRET=... streamit                      # web (embedded database)
#   docker run streamit node dist/workers/lifecycle-worker.js               # worker (cluster mode)
#   docker run streamit node dist/db/migrate.js                             # release step

# ---- build: every dependency (TypeScript, esbuild for the demo page), then the whole build.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# Workspace manifests first, so that `npm ci` stays cached while only sources change.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/client/package.json packages/client/
COPY packages/demo/package.json packages/demo/
# --ignore-scripts: `prepare` builds the packages, whose sources are not copied yet; native
# modules are rebuilt right after.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages packages
COPY src src
COPY db db
COPY workers workers
RUN npm run build

# ---- deps: production dependencies only, installed for the run stage's platform.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/client/package.json packages/client/
COPY packages/demo/package.json packages/demo/
# `prepare` needs TypeScript (a dev dependency): skip lifecycle scripts, then run the install
# scripts of the dependencies that have one (argon2's native binding).
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm rebuild --no-audit --no-fund \
  && npm cache clean --force

# ---- run: the compiled server and production dependencies, as an unprivileged user.
FROM node:22-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000 DATA_DIR=/app/.data
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules node_modules
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/packages/protocol/package.json packages/protocol/
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/client/package.json packages/client/
COPY --from=build /app/packages/client/dist packages/client/dist
COPY --from=build /app/packages/demo/package.json packages/demo/
COPY --from=build /app/packages/demo/dist packages/demo/dist
COPY --from=build /app/dist dist
# The code stays root-owned (read-only to the process); only DATA_DIR (the embedded database and
# the generated JWT secret when none is set) is the service user's. `node` is the base image's
# unprivileged user (uid 1000).
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
VOLUME ["/app/.data"]
EXPOSE 8000
# Liveness (/livez): the process answers HTTP; a database outage does not restart the container.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
