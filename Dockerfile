# syntax=docker/dockerfile:1
#
# Siphon: one image for every role. The command chooses what the container does:
#   api (default), runner, migrate, demo load, or any other `siphon` CLI command.
# In a container, always set DATABASE_URL: the embedded PostgreSQL is for local development only (its
# binaries come with the dependencies, but it is never started when DATABASE_URL is set).
#
#   docker build -t siphon .
#   docker run --rm -e DATABASE_URL=postgres://... siphon migrate

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, then drop the dev dependencies ------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# SIPHON_HOME must be writable: Siphon writes secrets.json there on every start (see
# docs/configuration.md). In a container that file is throwaway; pass the secrets as variables.
ENV NODE_ENV=production \
    SIPHON_HOME=/home/node/.siphon \
    SIPHON_API_HOST=0.0.0.0 \
    SIPHON_API_PORT=8000 \
    SIPHON_LOG_FORMAT=json
WORKDIR /app
# Application files stay owned by root: the `node` user can read them but not change them.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY package.json ./
COPY bin ./bin
USER node
RUN mkdir -p "$SIPHON_HOME"
EXPOSE 8000
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["api"]
