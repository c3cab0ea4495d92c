# Curio's worker image: tfjs-node on native TensorFlow (C library from the pinned PyPI wheel) and
# faiss-node linked statically against Debian's libfaiss-dev, built by the same install scripts as a developer machine.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libfaiss-dev libopenblas-dev cmake g++ make \
      python3 python3-pip unzip ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV CURIO_CACHE_DIR=/opt/curio-cache CURIO_TOOLS_DIR=/opt/curio-tools
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
COPY scripts ./scripts
RUN scripts/install/node-deps.sh
COPY . .
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0 libgomp1 libgfortran5 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production CURIO_CACHE_DIR=/opt/curio-cache CURIO_DATA_DIR=/data
WORKDIR /app
COPY --from=build /opt/curio-cache/libtensorflow-2.15.1 /opt/curio-cache/libtensorflow-2.15.1
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/sql ./sql
COPY --from=build /app/scripts/versions.env ./scripts/versions.env
VOLUME /data
# SIGTERM drains in-flight activities (see workers/runWorker.ts) before the process exits.
STOPSIGNAL SIGTERM
CMD ["node", "dist/workers/pipelineWorker.js"]
