# The talon agent image (deploy/k8s/daemonset.yaml, deploy/helm/talon). Build from a
# clean checkout: docker build -t ghcr.io/talon-project/talon:0.1.0 .
# The build stage compiles the Wasm core, the TypeScript, the BPF objects and the
# native shim with Debian's toolchain; the run stage carries the runtime libraries only.
FROM node:20-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc g++ python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build && bash scripts/build-native.sh && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/talon
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/build/talon.wasm ./build/talon.wasm
COPY --from=build /src/proto ./proto
COPY --from=build /src/bpf/.output ./bpf/.output
COPY --from=build /src/shim/build/Release/tln_shim.node ./shim/build/Release/tln_shim.node
COPY --from=build /src/examples ./examples
RUN ln -s /opt/talon/bin/talon.js /usr/local/bin/talon
ENTRYPOINT ["talon"]
CMD ["agent", "--enable-cri", "--enable-k8s-api"]
