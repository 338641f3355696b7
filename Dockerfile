# veilrank-server: the same binary serves whole catalogs, one shard (--shard K/S) or the gateway
# (--upstream). Build: docker build -t veilrank-server .
# Stage 1 builds with the server's minimum Rust (1.95); stage 2 is a slim Debian with the binary,
# as a non-root user. The demo page's web SDK is not embedded (the Kubernetes files turn the page
# off). Not built in CI (no container engine on this machine kind); see the README.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# tfhe's AVX-512 IFMA path is chosen at run time, so one x86-64 image serves every x86 host
RUN cargo build --release --locked -p veilrank-server \
 && cp target/release/veilrank-server /veilrank-server

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/veilrank --create-home veilrank
COPY --from=build /veilrank-server /usr/local/bin/veilrank-server
USER 10001:10001
WORKDIR /var/lib/veilrank
ENV VEILRANK_ADDR=0.0.0.0:8080 \
    VEILRANK_DATA_DIR=/var/lib/veilrank/data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/veilrank-server"]
