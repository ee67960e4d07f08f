import HTTPTypes
import HummingbirdTesting
import OCI
import Testing

@Suite struct ListingAPITests {
    @Test func tagsArePaginatedLexically() async throws {
        try await APIFixture().run { c, _ in
            let (manifest, _) = try await c.pushImage("l/tags", tag: "v3")
            for tag in ["v1", "v10", "v2", "latest"] {
                _ = try await c.send(.put, "/v2/l/tags/manifests/\(tag)", headers: [.contentType: MediaType.ociManifest], body: manifest)
            }
            let all = try await c.send(.get, "/v2/l/tags/tags/list")
            #expect(all.text == #"{"name":"l/tags","tags":["latest","v1","v10","v2","v3"]}"#)
            #expect(all.header("Link") == nil)
            let page = try await c.send(.get, "/v2/l/tags/tags/list?n=2")
            #expect(page.text == #"{"name":"l/tags","tags":["latest","v1"]}"#)
            #expect(page.header("Link") == #"</v2/l/tags/tags/list?last=v1&n=2>; rel="next""#)
            let next = try await c.send(.get, "/v2/l/tags/tags/list?n=2&last=v1")
            #expect(next.text == #"{"name":"l/tags","tags":["v10","v2"]}"#)
            let tail = try await c.send(.get, "/v2/l/tags/tags/list?n=2&last=v2")
            #expect(tail.text == #"{"name":"l/tags","tags":["v3"]}"#)
            #expect(tail.header("Link") == nil)
            let none = try await c.send(.get, "/v2/l/tags/tags/list?n=0")
            #expect(none.text == #"{"name":"l/tags","tags":[]}"#)
            #expect(none.header("Link") == nil)
            for bad in ["-1", "x", "1.5"] {
                let r = try await c.send(.get, "/v2/l/tags/tags/list?n=\(bad)")
                #expect(r.errorCode == "PAGINATION_NUMBER_INVALID")
            }
            let unknown = try await c.send(.get, "/v2/l/none/tags/list")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "NAME_UNKNOWN")
        }
    }

    @Test func tagPagesAreCappedAtMaxTags() async throws {
        try await APIFixture { $0.tagsMaxTags = 2 }.run { c, _ in
            let (manifest, _) = try await c.pushImage("l/cap", tag: "a")
            for tag in ["b", "c"] {
                _ = try await c.send(.put, "/v2/l/cap/manifests/\(tag)", headers: [.contentType: MediaType.ociManifest], body: manifest)
            }
            let page = try await c.send(.get, "/v2/l/cap/tags/list?n=50")
            #expect(page.text == #"{"name":"l/cap","tags":["a","b"]}"#)
            #expect(page.header("Link") == #"</v2/l/cap/tags/list?last=b&n=2>; rel="next""#)
        }
    }

    @Test func catalogIsPaginatedWithLinks() async throws {
        try await APIFixture { $0.catalogMaxEntries = 50 }.run { c, _ in
            for name in ["c/b", "c/a", "c/c/d", "a"] { try await c.pushBlob(name, [1]) }
            let first = try await c.send(.get, "/v2/_catalog?n=2")
            #expect(first.text == #"{"repositories":["a","c/a"]}"#)
            #expect(first.header("Link") == #"</v2/_catalog?last=c/a&n=2>; rel="next""#)
            let second = try await c.send(.get, "/v2/_catalog?n=2&last=c/a")
            #expect(second.text == #"{"repositories":["c/b","c/c/d"]}"#)
            #expect(second.header("Link") == nil)
            #expect(try await c.send(.get, "/v2/_catalog?n=51").errorCode == "PAGINATION_NUMBER_INVALID")
            #expect(try await c.send(.get, "/v2/_catalog?n=0").text == #"{"repositories":[]}"#)
        }
    }
}

@Suite struct BadInputTests {
    @Test func invalidNamesReferencesAndDigests() async throws {
        try await APIFixture().run { c, store in
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.get, "/v2/UPPER/tags/list", "NAME_INVALID"),
                (.get, "/v2/a..b/tags/list", "NAME_INVALID"),
                (.get, "/v2/%2e%2e/%2e%2e/tags/list", "NAME_INVALID"),
                (.get, "/v2/a%2F..%2Fb/manifests/latest", "NAME_INVALID"),
                (.get, "/v2/\(String(repeating: "a", count: 256))/tags/list", "NAME_INVALID"),
                (.put, "/v2/ok/manifests/-bad", "TAG_INVALID"),
                (.put, "/v2/ok/manifests/..", "TAG_INVALID"),
                (.put, "/v2/ok/manifests/\(String(repeating: "t", count: 129))", "TAG_INVALID"),
                (.put, "/v2/ok/manifests/sha256:totallywrong", "DIGEST_INVALID"),
                (.get, "/v2/ok/blobs/sha256:totallywrong", "DIGEST_INVALID"),
                (.get, "/v2/ok/blobs/sha256:..%2F..%2Fetc%2Fpasswd", "DIGEST_INVALID"),
                (.post, "/v2/ok/blobs/uploads/?digest=sha256:short", "DIGEST_INVALID"),
                (.post, "/v2/Bad/blobs/uploads/", "NAME_INVALID"),
            ]
            for (method, path, code) in cases {
                let r = try await c.send(method, path, body: method == .get ? nil : [1])
                #expect(r.status == .badRequest, "\(path)")
                #expect(r.errorCode == code, "\(path): \(r.text)")
            }
            // Reading a reference nothing can be stored under is "not found", as the spec says.
            for path in ["/v2/ok/manifests/-bad", "/v2/ok/manifests/..", "/v2/ok/manifests/sha256:totallywrong"] {
                let r = try await c.send(.get, path)
                #expect(r.status == .notFound, "\(path)")
                #expect(r.errorCode == "MANIFEST_UNKNOWN", "\(path): \(r.text)")
            }
            #expect(try await store.catalog(after: nil, limit: 10).names.isEmpty)
        }
    }

    @Test func wrongMethodsAndUnknownEndpoints() async throws {
        try await APIFixture().run { c, _ in
            let patch = try await c.send(.patch, "/v2/x/manifests/latest")
            #expect(patch.status == .methodNotAllowed)
            #expect(patch.header("Allow") == "GET, HEAD, PUT, DELETE")
            #expect(try await c.send(.post, "/v2/_catalog").status == .methodNotAllowed)
            #expect(try await c.send(.get, "/v2/x/blobs/uploads/").status == .methodNotAllowed)
            let unknown = try await c.send(.get, "/v2/x/unknown/thing")
            #expect(unknown.status == .notFound)
            #expect(unknown.header("Docker-Distribution-API-Version") == "registry/2.0")
            #expect(try await c.send(.get, "/elsewhere").status == .notFound)
        }
    }

    @Test func healthProbesNeedNoCredentials() async throws {
        try await AuthAPITests().fixture().run { c, _ in
            #expect(try await c.send(.get, "/v2/").status == .unauthorized)
            let live = try await c.send(.get, "/livez")
            #expect(live.status == .ok)
            #expect(live.text == #"{"status":"ok"}"#)
            #expect(try await c.send(.get, "/readyz").status == .ok)
        }
    }

    @Test func prefixHeadersAndReadOnly() async throws {
        try await APIFixture {
            $0.httpPrefix = "/registry/"
            $0.httpHeaders = [("X-Content-Type-Options", ["nosniff"])]
            $0.relativeURLs = true
        }.run { c, _ in
            let ping = try await c.send(.get, "/registry/v2/")
            #expect(ping.status == .ok)
            #expect(ping.header("X-Content-Type-Options") == "nosniff")
            #expect(try await c.send(.get, "/v2/").status == .notFound)
            let start = try await c.send(.post, "/registry/v2/p/blobs/uploads/")
            #expect(start.header("Location")?.hasPrefix("/registry/v2/p/blobs/uploads/") == true)
        }
        try await APIFixture { $0.readOnly = true }.run { c, _ in
            let r = try await c.send(.post, "/v2/ro/blobs/uploads/")
            #expect(r.status == .methodNotAllowed)
            #expect(r.errorCode == "UNSUPPORTED")
            #expect(try await c.send(.get, "/v2/_catalog").status == .ok)
        }
    }
}

@Suite struct LocationTests {
    @Test func locationsFollowProxyHeadersAndHTTPHost() async throws {
        try await APIFixture().run { c, _ in
            let proxied = try await c.send(.post, "/v2/loc/a/blobs/uploads/", headers: [
                HTTPField.Name("X-Forwarded-Proto")!: "https", HTTPField.Name("X-Forwarded-Host")!: "registry.example.com",
            ])
            #expect(proxied.header("Location")?.hasPrefix("https://registry.example.com/v2/loc/a/blobs/uploads/") == true)
            let forwarded = try await c.send(.post, "/v2/loc/a/blobs/uploads/", headers: [
                HTTPField.Name("Forwarded")!: "for=10.0.0.1;proto=https;host=\"reg.internal:8443\"",
            ])
            #expect(forwarded.header("Location")?.hasPrefix("https://reg.internal:8443/v2/") == true)
            let injected = try await c.send(.post, "/v2/loc/a/blobs/uploads/", headers: [
                HTTPField.Name("X-Forwarded-Host")!: "evil.example.com/\r\nX-Injected: 1", HTTPField.Name("X-Forwarded-Proto")!: "javascript",
            ])
            #expect(injected.header("Location")?.hasPrefix("http://") == true)
            #expect(injected.header("Location")?.contains("evil") == false)
        }
        try await APIFixture { $0.httpHost = "https://registry.corp:5443" }.run { c, _ in
            let r = try await c.send(.post, "/v2/loc/b/blobs/uploads/", headers: [HTTPField.Name("X-Forwarded-Host")!: "other"])
            #expect(r.header("Location")?.hasPrefix("https://registry.corp:5443/v2/loc/b/blobs/uploads/") == true)
        }
    }
}

@Suite struct MetricsTests {
    @Test func prometheusMetricsCountRequestsBytesAndTokens() async throws {
        var fixture = AuthAPITests().fixture()
        fixture.config.prometheusEnabled = true
        try await fixture.run { c, _ in
            #expect(try await c.send(.get, "/metrics").status == .ok)
            _ = try await c.send(.get, "/v2/")
            _ = try await c.send(.get, "/auth/token?service=test+registry", headers: [.authorization: AuthAPITests.basic("alice", "wrong")])
            let token = try await AuthAPITests().token(c, "repository:alice/app:pull,push", as: "alice")
            let bytes = [UInt8](repeating: 7, count: 1234)
            _ = try await c.send(.post, "/v2/alice/app/blobs/uploads/?digest=\(Digest.compute(bytes))",
                                 headers: [.authorization: "Bearer \(token)"], body: bytes)
            // Each route group labels its own requests; a path none answers is "other".
            _ = try await c.send(.get, "/livez")
            _ = try await c.send(.get, "/berth/api/v1/users")
            _ = try await c.send(.get, "/ui/login")
            _ = try await c.send(.get, "/no/such/place")
            _ = try await c.send(.get, "/v2/alice/app/nonsense")
            let text = try await c.send(.get, "/metrics").text
            for expected in [#"route="health",method="GET",status="200"} 1"#, #"route="admin",method="GET",status="401"} 1"#,
                             #"route="web_ui",method="GET",status="200"} 1"#, #"route="other",method="GET",status="404"} 2"#,
                             #"route="metrics",method="GET",status="200"} 1"#, #"route="token",method="GET",status="401"} 1"#] {
                #expect(text.contains("berth_http_requests_total{" + expected), "\(expected)")
            }
            #expect(text.contains(#"berth_http_requests_total{route="base",method="GET",status="401"} 1"#))
            #expect(text.contains(#"berth_http_requests_total{route="upload_start",method="POST",status="201"} 1"#))
            #expect(text.contains(#"berth_token_requests_total{result="unauthorized"} 1"#))
            #expect(text.contains(#"berth_token_requests_total{result="issued"} 1"#))
            #expect(text.contains("berth_http_request_body_bytes_total 1234"))
            #expect(text.contains("berth_uploads_in_progress 0"))
            #expect(text.contains("berth_http_request_duration_seconds_bucket"))
            // Repository names never become labels.
            #expect(!text.contains("alice/app"))
        }
        // Off unless enabled.
        try await APIFixture().run { c, _ in
            let r = try await c.send(.get, "/metrics")
            #expect(r.status == .notFound)
        }
    }
}
