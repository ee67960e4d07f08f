import Config
import Testing

@Suite struct ProxyConfigTests {
    func config(_ proxy: String) throws -> RegistryConfiguration {
        try RegistryConfiguration(yaml: """
        version: 0.1
        storage:
          inmemory: {}
        \(proxy)
        """)
    }

    @Test func readsDistributionsProxySection() throws {
        let c = try config("""
        proxy:
          remoteurl: https://registry-1.docker.io/
          username: someone
          password: secret
          ttl: 72h
        """)
        #expect(c.warnings.isEmpty)
        let upstream = try #require(c.proxyUpstreams.first)
        #expect(upstream.prefix == "")
        #expect(upstream.remoteURL == "https://registry-1.docker.io")
        #expect(upstream.username == "someone" && upstream.password == "secret")
        #expect(upstream.ttl == 72 * 3600)
        // Distribution checks a tag with the upstream on every pull.
        #expect(upstream.tagTTL == 0)
    }

    @Test func fallbacksHaveTheirOwnCredentialsOrNone() throws {
        let c = try config("""
        proxy:
          upstreams:
            - prefix: corp
              remoteurl: https://registry.corp.test
              username: ci
              password: secret
              tokenhosts: [sso.corp.test]
              fallbackurls:
                - https://mirror-a.corp.test
                - {url: "https://mirror-b.corp.test", username: other, password: theirs}
        """)
        let upstream = c.proxyUpstreams[0]
        #expect(upstream.fallbackURLs == ["https://mirror-a.corp.test", "https://mirror-b.corp.test"])
        #expect(upstream.fallbackLogins == ["https://mirror-b.corp.test": .init(username: "other", password: "theirs")])
        #expect(upstream.tokenHosts == ["sso.corp.test"])
        #expect(throws: (any Error).self) {
            try config("proxy:\n  upstreams:\n    - {prefix: x, remoteurl: https://a.test, fallbackurls: [{url: https://b.test, username: u}]}")
        }
    }

    @Test func readsSeveralUpstreamsUnderPrefixes() throws {
        let c = try config("""
        proxy:
          spooldirectory: /var/tmp/berth
          upstreams:
            - prefix: docker.io
              remoteurl: https://registry-1.docker.io
              tagttl: 5m
              repositories: ["library/*", "/^bitnami/.+$/"]
            - prefix: ghcr.io/
              remoteurl: https://ghcr.io
              fallbackurls: [https://ghcr-mirror.example.com]
              ttl: 0s
              namespaces: [ghcr.io]
              tls:
                insecureskipverify: true
                ca: /etc/ssl/ghcr.pem
              colour: blue
        """)
        #expect(c.proxySpoolDirectory == "/var/tmp/berth")
        #expect(c.proxyUpstreams.map(\.prefix) == ["docker.io", "ghcr.io"])
        #expect(c.proxyUpstreams[0].tagTTL == 300)
        #expect(c.proxyUpstreams[0].repositories == ["library/*", "/^bitnami/.+$/"])
        #expect(c.proxyUpstreams[0].namespaces == ["docker.io"])
        #expect(c.proxyUpstreams[0].ttl == 168 * 3600)
        #expect(c.proxyUpstreams[1].ttl == 0)
        #expect(c.proxyUpstreams[1].tlsVerify == false)
        #expect(c.proxyUpstreams[1].caFile == "/etc/ssl/ghcr.pem")
        #expect(c.proxyUpstreams[1].fallbackURLs == ["https://ghcr-mirror.example.com"])
        #expect(c.proxyUpstreams[1].fallbackLogins.isEmpty)
        #expect(c.warnings == ["unknown or unsupported configuration key ignored: proxy.upstreams[1].colour"])
    }

    @Test func readsDistributionsCredentialHelper() throws {
        let c = try config("proxy:\n  remoteurl: https://example.com\n  exec:\n    command: docker-credential-ecr-login\n    lifetime: 1h")
        #expect(c.proxyUpstreams[0].execCommand == "docker-credential-ecr-login")
        #expect(c.proxyUpstreams[0].execLifetime == 3600)
        #expect(c.warnings.isEmpty)
    }

    @Test func refusesWhatCannotWork() throws {
        let bad = [
            "proxy:\n  remoteurl: ftp://example.com",
            "proxy:\n  remoteurl: https://example.com/some/path",
            "proxy:\n  remoteurl: https://example.com\n  username: only-a-name",
            "proxy:\n  remoteurl: https://example.com\n  exec:\n    lifetime: 1h",
            "proxy:\n  remoteurl: https://example.com\n  exec:\n    command: 'helper; rm -rf /'",
            "proxy:\n  upstreams:\n    - remoteurl: https://example.com",
            "proxy:\n  upstreams:\n    - prefix: Docker.IO\n      remoteurl: https://example.com",
            "proxy:\n  upstreams:\n    - prefix: a\n      remoteurl: https://a\n    - prefix: a\n      remoteurl: https://b",
            "proxy:\n  remoteurl: https://a\n  upstreams:\n    - prefix: b\n      remoteurl: https://b",
            "proxy:\n  upstreams:\n    - prefix: a\n      remoteurl: https://a\n      repositories: ['/([/']",
        ]
        for text in bad {
            #expect(throws: ConfigError.self, "\(text)") { _ = try config(text) }
        }
    }
}
