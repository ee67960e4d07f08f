# Berth in a container: built in Swift's image, run on Debian slim as an unprivileged user
# (uid 10001) with its data in the volume /var/lib/berth.
#
#   docker build -t berth .
#   docker run -d --name berth -p 5000:5000 -v berth-data:/var/lib/berth berth
#   docker exec berth cat /var/lib/berth/admin-password     # the first admin's password
#
# With a release binary already built (scripts/package.sh leaves it in dist/bin/berth),
# no Swift image is needed:
#   docker build --build-arg PREBUILT=dist/bin/berth -t berth .
# The base images are arguments: SWIFT_IMAGE builds, BASE_IMAGE runs (Debian 12 package
# names; with another base, give one that already has libldap, libssl and libxml2).
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS builder
ARG PREBUILT=
WORKDIR /src
COPY . .
RUN set -e; \
    if [ -z "$PREBUILT" ]; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libldap-dev libssl-dev; \
        swift build -c release --static-swift-stdlib --product berth; \
        PREBUILT=.build/release/berth; \
    fi; \
    scripts/package.sh --binary "$PREBUILT" --stage /staging; \
    chmod 0644 /staging/etc/berth/config.yml

FROM ${BASE_IMAGE}
RUN set -e; \
    if ! ldconfig -p | grep -q 'libldap-2\.5\.so' || ! ldconfig -p | grep -q 'libxml2\.so'; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libldap-2.5-0 libssl3 libxml2 ca-certificates; \
        rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=builder /staging/usr/ /usr/
COPY --from=builder /staging/etc/berth/ /etc/berth/
COPY --from=builder --chown=10001:10001 /staging/var/lib/berth/ /var/lib/berth/
USER 10001:10001
WORKDIR /var/lib/berth
VOLUME /var/lib/berth
EXPOSE 5000
ENTRYPOINT ["/usr/bin/berth"]
CMD ["serve", "--strict", "--config", "/etc/berth/config.yml", "--admin-password-file", "/var/lib/berth/admin-password"]
