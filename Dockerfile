# The tokenprobe image: the release binary the README builds
# (`cargo build --release --locked`), on a slim Debian runtime with CA
# certificates, run as a non-root user. Used by deploy/kubernetes/.
#
#   docker build -t tokenprobe:0.1.0 .
#   docker run --rm tokenprobe:0.1.0 check      # against the embedded mock
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The checkout (.dockerignore leaves out target/, reports/, .git/).
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/tokenprobe /usr/local/bin/tokenprobe
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["tokenprobe"]
CMD ["--help"]
