# immp: one static binary on a distroless base, running as non-root.
# Build: docker build -t immp .   Run: see compose.yaml and the README.
# .ci/run builds the binary with exactly this go build line, since CI has
# no Docker engine; keep the line on one line so it can find it.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces go-smtp and go-imap with the patched copies in third_party.
COPY third_party ./third_party
# /out/data becomes the volume's mount point, owned by the nonroot user
# (65532) so that a fresh named volume is writable.
RUN go mod download && mkdir -p /out/data
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/immp ./cmd/immp

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/immp /immp
COPY --from=build --chown=65532:65532 /out/data /data
COPY docker/immp.toml /etc/immp/immp.toml
ENV IMMP_CONFIG=/etc/immp/immp.toml
USER 65532:65532
VOLUME /data
# SMTP, submission, IMAP, IMAPS, IMMP, and the HTTP operations endpoint.
EXPOSE 25 587 143 993 323 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/immp", "healthcheck"]
ENTRYPOINT ["/immp"]
CMD ["serve"]
