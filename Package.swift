// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // Digests, names, references, manifests: pure values, no I/O.
        .target(name: "OCI", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Storage driver protocol, filesystem, S3 and in-memory drivers, and the registry's
        // Distribution-compatible layout (blobs, uploads, manifests, tags) on top of a driver.
        // OpenSSL's libcrypto (Debian's libssl-dev): SHA-256 state that can be saved (uploads),
        // RSA signing faster than BoringSSL's (RS256 tokens).
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
        .target(name: "Storage", dependencies: [
            "OCI", "COpenSSL",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            // The S3 driver's requests.
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // OpenLDAP's client library (Debian's libldap-dev), for the LDAP identity backend.
        .systemLibrary(name: "CLDAP", providers: [.apt(["libldap-dev"])]),
        // Identity backends, the docker_auth ACL engine, token issue and verification: no HTTP.
        .target(name: "Auth", dependencies: [
            "CLDAP", "COpenSSL",
            "OCI",
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Yams", package: "Yams"),
        ], linkerSettings: [
            // ICU's own regex API, for matches with a step limit (BoundedRegex).
            .linkedLibrary("_FoundationICU", .when(platforms: [.linux])),
        ]),
        // Accounts, labels, ACL rules, robots and the audit log in SQLite or PostgreSQL (one
        // SQL code path through SQLKit), served to the token service as an identity backend
        // and an access policy from an in-memory snapshot.
        .target(name: "Accounts", dependencies: [
            "Auth", "OCI",
            .product(name: "SQLKit", package: "sql-kit"),
            .product(name: "SQLiteKit", package: "sqlite-kit"),
            .product(name: "PostgresKit", package: "postgres-kit"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The pull-through cache: a decorator of the registry's content that fetches
        // repositories under an upstream's prefix from that registry and stores them.
        .target(name: "Policies", dependencies: ["Storage", "Accounts", "Auth", "OCI", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Mirror", dependencies: [
            "OCI", "Storage", "Client", "Auth",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Distribution-compatible config.yml parsing, env overrides, validation.
        .target(name: "Config", dependencies: [
            "OCI",
            .product(name: "Yams", package: "Yams"),
        ]),
        // Thin Hummingbird handlers translating HTTP to registry calls.
        .target(name: "Server", dependencies: [
            "OCI", "Storage", "Auth", "Accounts", "Notifications", "Policies",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], resources: [
            .embedInCode("Admin/openapi.yaml"),
            .embedInCode("WebUI/Templates/layout.mustache"), .embedInCode("WebUI/Templates/login.mustache"),
            .embedInCode("WebUI/Templates/repositories.mustache"), .embedInCode("WebUI/Templates/repository.mustache"),
            .embedInCode("WebUI/Templates/manifest.mustache"), .embedInCode("WebUI/Templates/message.mustache"),
            .embedInCode("WebUI/Templates/confirm.mustache"), .embedInCode("WebUI/Templates/admin-users.mustache"), .embedInCode("WebUI/Templates/admin-user.mustache"),
            .embedInCode("WebUI/Templates/admin-rules.mustache"), .embedInCode("WebUI/Templates/admin-robots.mustache"),
            .embedInCode("WebUI/Templates/admin-audit.mustache"),
            .embedInCode("WebUI/Templates/admin-tokens.mustache"), .embedInCode("WebUI/Templates/admin-webhooks.mustache"),
            .embedInCode("WebUI/Templates/admin-storage.mustache"), .embedInCode("WebUI/Templates/admin-pulls.mustache"), .embedInCode("WebUI/Templates/home.mustache"), .embedInCode("WebUI/Templates/access-tokens.mustache"), .embedInCode("WebUI/Templates/signed-in.mustache"), .embedInCode("WebUI/Templates/admin-policies.mustache"),
            .embedInCode("WebUI/Static/berth.css"), .embedInCode("WebUI/Static/favicon.svg"),
        ]),
        // A registry API client (anonymous, Basic or token auth; docker/podman credential
        // files) used by the CLI, notifications and the tests.
        .target(name: "Client", dependencies: [
            "OCI",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Registry events in Distribution's webhook format, queued on disk and retried.
        .target(name: "Notifications", dependencies: [
            "Storage",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The composition root: a configuration becomes the server's features, the token
        // service's backends and the services beside them (`berth serve`, `berth auth-server`).
        .target(name: "Assembly", dependencies: [
            "Server", "OCI", "Storage", "Config", "Auth", "Accounts", "Notifications", "Mirror", "Client", "Policies",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "berth", dependencies: [
            "Assembly", "Config", "Storage", "Auth", "Accounts", "Client", "OCI", "Policies",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The client-facing parsers as fuzz targets (scripts/fuzz.sh builds it with libFuzzer);
        // a normal build replays the committed corpus, Tests/fuzz-corpus.
        .executableTarget(name: "berth-fuzz", dependencies: ["OCI", "Auth", "Config"]),
        .testTarget(name: "OCITests", dependencies: ["OCI"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth", .product(name: "X509", package: "swift-certificates"), .product(name: "JWTKit", package: "jwt-kit"), .product(name: "_CryptoExtras", package: "swift-crypto"), .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"), .product(name: "SwiftASN1", package: "swift-asn1")]),
        .testTarget(name: "AccountsTests", dependencies: ["Accounts", "Auth", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "OCI", .product(name: "_CryptoExtras", package: "swift-crypto"),
                                                         .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "PoliciesTests", dependencies: ["Policies", "Storage", "OCI", "Accounts", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "OCI"]),
        .testTarget(name: "ClientTests", dependencies: [
            "Client", "OCI",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "NotificationsTests", dependencies: [
            "Notifications", "Storage",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ServerTests", dependencies: [
            "Assembly", "Server", "Storage", "OCI", "Config", "Auth", "Mirror", "Client", "Policies", "Accounts",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
