# syntax=docker/dockerfile:1
# Build stage: compile TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY function ./function
COPY scripts ./scripts
RUN npm run build

# Dependencies stage: production modules only.
FROM node:20-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Runtime: distroless Node, non-root, nothing but the compiled function and its modules.
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /function
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist/function ./dist/function
COPY package.json ./
USER 65532:65532
# 9443: gRPC (mutual TLS); 8080: Prometheus metrics (--metrics-address, plain HTTP).
EXPOSE 9443 8080
# A smaller young generation keeps RSS under 120 MB under load at no measurable cost (npm run bench).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=8", "dist/function/main.js"]
