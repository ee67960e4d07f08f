import HTTPTypes
import HummingbirdTesting
import OCI
import Storage
import Testing

@Suite struct ManifestAPITests {
    @Test func pushPullByTagAndDigest() async throws {
        try await APIFixture().run { c, _ in
            let (manifest, digest) = try await c.pushImage("m/app", tag: "v1")
            for reference in ["v1", digest.description] {
                let r = try await c.send(.get, "/v2/m/app/manifests/\(reference)", headers: [.accept: MediaType.ociManifest])
                #expect(r.status == .ok)
                #expect(Array(r.body.readableBytesView) == manifest)
                #expect(r.header("Content-Type") == MediaType.ociManifest)
                #expect(r.header("Docker-Content-Digest") == digest.description)
                #expect(r.header("ETag") == "\"\(digest)\"")
            }
            let head = try await c.send(.head, "/v2/m/app/manifests/v1")
            #expect(head.status == .ok)
            #expect(head.header("Content-Length") == String(manifest.count))
            let cached = try await c.send(.get, "/v2/m/app/manifests/v1", headers: [.ifNoneMatch: digest.description])
            #expect(cached.status == .notModified)
            // Distribution's negotiation: an OCI manifest is not served to a client that only accepts Docker types.
            let dockerOnly = try await c.send(.get, "/v2/m/app/manifests/v1", headers: [.accept: MediaType.dockerManifest])
            #expect(dockerOnly.status == .notFound)
            #expect(dockerOnly.errorCode == "MANIFEST_UNKNOWN")
            let listed = try await c.send(.get, "/v2/m/app/manifests/v1", headers: [.accept: "\(MediaType.dockerManifest), \(MediaType.ociManifest);q=0.5"])
            #expect(listed.status == .ok)
            #expect(try await c.send(.get, "/v2/m/app/manifests/nope").errorCode == "MANIFEST_UNKNOWN")
        }
    }

    /// The conformance suites' `.INVALID_MANIFEST_NAME`: not found when read, invalid when pushed.
    @Test func aReferenceThatIsNeitherTagNorDigest() async throws {
        try await APIFixture().run { c, _ in
            let (manifest, _) = try await c.pushImage("m/app", tag: "v1")
            for method in [HTTPRequest.Method.get, .head, .delete] {
                let r = try await c.send(method, "/v2/m/app/manifests/.INVALID_MANIFEST_NAME")
                #expect(r.status == .notFound, "\(method)")
                if method != .head { #expect(r.errorCode == "MANIFEST_UNKNOWN") }
            }
            let put = try await c.send(.put, "/v2/m/app/manifests/.INVALID_MANIFEST_NAME", headers: [.contentType: MediaType.ociManifest], body: manifest)
            #expect(put.status == .badRequest)
            #expect(put.errorCode == "TAG_INVALID")
        }
    }

    /// The spec's tag parameters on a push by digest: every tag created and named in
    /// `OCI-Tag`; one invalid tag refuses the whole push.
    @Test func pushByDigestWithTagParameters() async throws {
        try await APIFixture().run { c, _ in
            let config = try await c.pushBlob("m/tp", Array("{}".utf8))
            let manifest = APIFixture.Client.manifest(config: (config, 2), layers: [])
            let digest = Digest.compute(manifest)
            let refused = try await c.send(.put, "/v2/m/tp/manifests/\(digest)?tag=good&tag=.bad", headers: [.contentType: MediaType.ociManifest], body: manifest)
            #expect(refused.status == .badRequest)
            #expect(refused.errorCode == "TAG_INVALID")
            #expect(try await c.send(.get, "/v2/m/tp/manifests/\(digest)").status == .notFound)
            let tooMany = (0...100).map { "tag=t\($0)" }.joined(separator: "&")
            #expect(try await c.send(.put, "/v2/m/tp/manifests/\(digest)?\(tooMany)", headers: [.contentType: MediaType.ociManifest], body: manifest).status.code == 414)

            let r = try await c.send(.put, "/v2/m/tp/manifests/\(digest)?tag=1.2.3&tag=1.2&tag=latest&tag=1.2", headers: [.contentType: MediaType.ociManifest], body: manifest)
            #expect(r.status == .created)
            #expect(r.header("OCI-Tag") == "1.2.3, 1.2, latest")
            #expect(r.header("Docker-Content-Digest") == digest.description)
            for tag in ["1.2.3", "1.2", "latest"] {
                let got = try await c.send(.get, "/v2/m/tp/manifests/\(tag)")
                #expect(got.status == .ok, "\(tag)")
                #expect(got.header("Docker-Content-Digest") == digest.description)
            }
            let list = try await c.send(.get, "/v2/m/tp/tags/list")
            #expect(String(buffer: list.body).contains(#""tags":["1.2","1.2.3","latest"]"#))
            // Without parameters no OCI-Tag header is sent.
            #expect(try await c.send(.put, "/v2/m/tp/manifests/\(digest)", headers: [.contentType: MediaType.ociManifest], body: manifest).header("OCI-Tag") == nil)
        }
    }

    @Test func refusesInvalidManifestsAndStoresNothing() async throws {
        try await APIFixture().run { c, store in
            let config = try await c.pushBlob("m/bad", Array("{}".utf8))
            let missing = Digest.compute([42])
            let cases: [([UInt8], String?, String, HTTPResponse.Status)] = [
                (Array("{not json".utf8), MediaType.ociManifest, "MANIFEST_INVALID", .badRequest),
                (Array(#"{"schemaVersion":2}"#.utf8), MediaType.ociManifest, "MANIFEST_INVALID", .badRequest),
                (APIFixture.Client.manifest(config: (config, 2), layers: []), "application/vnd.docker.distribution.manifest.v1+prettyjws", "MANIFEST_INVALID", .badRequest),
                (APIFixture.Client.manifest(config: (config, 2), layers: [(missing, 1)]), MediaType.ociManifest, "MANIFEST_BLOB_UNKNOWN", .badRequest),
                (APIFixture.Client.manifest(config: (missing, 2), layers: []), MediaType.ociManifest, "MANIFEST_BLOB_UNKNOWN", .badRequest),
                (APIFixture.Client.manifest(config: (config, 2), layers: []), MediaType.dockerManifest, "MANIFEST_INVALID", .badRequest),
            ]
            for (body, type, code, status) in cases {
                var headers = HTTPFields()
                if let type { headers[.contentType] = type }
                let r = try await c.send(.put, "/v2/m/bad/manifests/t", headers: headers, body: body)
                #expect(r.status == status, "\(code)")
                #expect(r.errorCode == code, "\(r.text)")
            }
            // Digest in the URL must match the body.
            let good = APIFixture.Client.manifest(config: (config, 2), layers: [])
            let mismatch = try await c.send(.put, "/v2/m/bad/manifests/\(missing)", headers: [.contentType: MediaType.ociManifest], body: good)
            #expect(mismatch.errorCode == "DIGEST_INVALID")
            // Over the 4 MiB limit.
            let huge = [UInt8](repeating: 0x20, count: 4 * 1024 * 1024 + 1)
            let tooLarge = try await c.send(.put, "/v2/m/bad/manifests/t", headers: [.contentType: MediaType.ociManifest], body: huge)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorCode == "MANIFEST_INVALID")
            #expect(try await store.tags(try RepositoryName("m/bad")) == [])
            #expect(try await store.revisionDigests(try RepositoryName("m/bad")) == [])
        }
    }

    @Test func indexesNeedTheirChildren() async throws {
        try await APIFixture().run { c, _ in
            let (child, childDigest) = try await c.pushImage("m/multi", tag: "amd64")
            let absent = Digest.compute([1, 2])
            func index(_ children: [(Digest, Int)], type: String = MediaType.ociIndex) -> [UInt8] {
                let entries = children.map { #"{"mediaType":"\#(MediaType.ociManifest)","digest":"\#($0.0)","size":\#($0.1),"platform":{"architecture":"amd64","os":"linux"}}"# }
                return Array(#"{"schemaVersion":2,"mediaType":"\#(type)","manifests":[\#(entries.joined(separator: ","))]}"#.utf8)
            }
            let refused = try await c.send(.put, "/v2/m/multi/manifests/all", headers: [.contentType: MediaType.ociIndex],
                                           body: index([(childDigest, child.count), (absent, 10)]))
            #expect(refused.errorCode == "MANIFEST_BLOB_UNKNOWN")
            for type in [MediaType.ociIndex, MediaType.dockerManifestList] {
                let body = index([(childDigest, child.count)], type: type)
                let r = try await c.send(.put, "/v2/m/multi/manifests/all", headers: [.contentType: type], body: body)
                #expect(r.status == .created)
                let back = try await c.send(.get, "/v2/m/multi/manifests/all", headers: [.accept: type])
                #expect(back.header("Content-Type") == type)
            }
            // A client that only reads single-image manifests gets the list's linux/amd64 image by tag.
            let old = try await c.send(.get, "/v2/m/multi/manifests/all", headers: [.accept: MediaType.ociManifest])
            #expect(old.status == .ok)
            #expect(old.header("Docker-Content-Digest") == childDigest.description)
            let listDigest = Digest.compute(index([(childDigest, child.count)], type: MediaType.dockerManifestList))
            let byDigest = try await c.send(.get, "/v2/m/multi/manifests/\(listDigest)", headers: [.accept: MediaType.ociManifest])
            #expect(byDigest.status == .notFound)
        }
        try await APIFixture { $0.indexPlatforms = .none }.run { c, _ in
            let body = Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociIndex)","manifests":[{"mediaType":"\#(MediaType.ociManifest)","digest":"\#(Digest.compute([3]))","size":1}]}"#.utf8)
            let r = try await c.send(.put, "/v2/m/sparse/manifests/x", headers: [.contentType: MediaType.ociIndex], body: body)
            #expect(r.status == .created)
        }
    }

    @Test func subjectReferrersAndFilters() async throws {
        try await APIFixture().run { c, _ in
            let (_, subject) = try await c.pushImage("m/ref", tag: "base")
            let empty = try await c.send(.get, "/v2/m/ref/referrers/\(Digest.compute([0]))")
            #expect(empty.status == .ok)
            #expect(empty.header("Content-Type") == MediaType.ociIndex)
            #expect(empty.text.contains(#""manifests":[]"#))

            let sbom = try await c.send(.put, "/v2/m/ref/manifests/sbom", headers: [.contentType: MediaType.ociManifest],
                                        body: try await c.pushImage("m/ref", tag: "tmp", seed: 2, subject: subject, artifactType: "application/spdx+json").manifest)
            #expect(sbom.header("OCI-Subject") == subject.description)
            _ = try await c.pushImage("m/ref", tag: "sig", seed: 3, subject: subject, artifactType: "application/vnd.dev.cosign")
            let all = try await c.send(.get, "/v2/m/ref/referrers/\(subject)")
            #expect(all.text.components(separatedBy: "\"digest\"").count - 1 == 2)
            #expect(all.header("OCI-Filters-Applied") == nil)
            let filtered = try await c.send(.get, "/v2/m/ref/referrers/\(subject)?artifactType=application/spdx%2Bjson")
            #expect(filtered.header("OCI-Filters-Applied") == "artifactType")
            #expect(filtered.text.contains("application/spdx+json"))
            #expect(!filtered.text.contains("cosign"))
            #expect(try await c.send(.get, "/v2/m/ref/referrers/sha256:totallywrong").status == .badRequest)
        }
    }

    @Test func deletesByTagAndByDigest() async throws {
        try await APIFixture().run { c, _ in
            let (_, digest) = try await c.pushImage("m/del", tag: "a")
            _ = try await c.pushImage("m/del", tag: "b")
            #expect(try await c.send(.delete, "/v2/m/del/manifests/a").status == .accepted)
            #expect(try await c.send(.get, "/v2/m/del/manifests/a").status == .notFound)
            #expect(try await c.send(.get, "/v2/m/del/manifests/b").status == .ok)
            #expect(try await c.send(.delete, "/v2/m/del/manifests/\(digest)").status == .accepted)
            #expect(try await c.send(.get, "/v2/m/del/manifests/b").status == .notFound)
            #expect(try await c.send(.get, "/v2/m/del/tags/list").text == #"{"name":"m/del","tags":[]}"#)
            #expect(try await c.send(.delete, "/v2/m/del/manifests/\(digest)").status == .notFound)
        }
    }
}
