# syntax=docker/dockerfile:1
# sessionql's production image (docker-compose.yml builds it):
#
#   docker build -t sessionql .
#   docker run -e SESSION_SECRET=… -e DATABASE_URL=postgres://… -p 4000:4000 sessionql
#
# Two stages: `build` installs everything and bundles the server (npm run
# build: dist/main.mjs and dist/web/); `runtime` holds only the production
# dependencies (npm ci --omit=dev, whose postinstall applies patches/ to
# postgres.js), the bundle, the migrations (drizzle/, applied at start-up) and
# src/ for `npm run sessions:clear`. It runs as the unprivileged `node` user,
# with node itself as PID 1 (exec-form CMD, no npm or sh in between), so
# SIGTERM reaches the server's graceful shutdown directly.
ARG NODE_IMAGE=node:20-bookworm

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# The install first (cached while the lockfile is unchanged); postinstall needs its script and the patches.
COPY package.json package-lock.json ./
COPY scripts/postinstall.mjs scripts/
COPY patches/ patches/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE}-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    npm_config_update_notifier=false
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/postinstall.mjs scripts/
COPY patches/ patches/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY drizzle/ drizzle/
COPY src/ src/
COPY --from=build /src/dist/main.mjs /src/dist/main.mjs.map dist/
COPY --from=build /src/dist/web/ dist/web/
# The embedded PGlite's folder when DATABASE_URL is unset (mount a volume there to keep it).
RUN mkdir .data && chown node:node .data
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "--max-semi-space-size=32", "dist/main.mjs"]
