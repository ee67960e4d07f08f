@testable import Server
import Foundation
import OCI
import HTTPTypes
import Testing

/// The web UI's pages through the router, on an open registry (everyone sees everything);
/// sign-in, sessions and rights are tested in a real browser (Tests/e2e/webui.sh).
@Suite struct WebUIPageTests {
    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func tagsArePagedAndPagesCarryTheirSecurityHeaders() async throws {
        try await APIFixture().run { c, _ in
            for i in 0..<150 { _ = try await c.pushImage("team/app", tag: String(format: "v%03d", i), seed: UInt8(i % 7)) }
            let first = try await c.send(.get, "/ui/repo/team/app")
            #expect(first.status == .ok)
            #expect(first.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'none'") == true)
            #expect(first.headers[.cacheControl] == "no-store")
            #expect(Self.count("<td class=\"name\">v", in: first.text) == 100)
            #expect(first.text.contains("150 tags · page 1 of 2"))
            #expect(first.text.contains("<td class=\"name\">v000</td>") && first.text.contains("<td class=\"name\">v099</td>") && !first.text.contains("<td class=\"name\">v100</td>"))
            #expect(first.text.contains(#"href="/ui/repo/team/app?q=&amp;sort=name&amp;page=2""#))
            let second = try await c.send(.get, "/ui/repo/team/app?sort=name&page=2")
            #expect(Self.count("<td class=\"name\">v", in: second.text) == 50)
            #expect(second.text.contains("<td class=\"name\">v149</td>"))
            let filtered = try await c.send(.get, "/ui/repo/team/app?q=v14")
            #expect(Self.count("<td class=\"name\">v", in: filtered.text) == 10)
            // A page number past the end shows the last page, not an error.
            #expect(try await c.send(.get, "/ui/repo/team/app?page=99").text.contains("page 2 of 2"))
        }
    }

    @Test func repositoryListFiltersAndUnknownPathsAreNotFound() async throws {
        try await APIFixture().run { c, _ in
            _ = try await c.pushImage("team/app", tag: "v1")
            _ = try await c.pushImage("ops/tool", tag: "v1")
            let list = try await c.send(.get, "/ui/")
            #expect(list.text.contains(">team/app</a>") && list.text.contains(">ops/tool</a>"))
            #expect(!list.text.contains("Sign in"), "an open registry offers no sign-in")
            let filtered = try await c.send(.get, "/ui/?q=ops")
            #expect(filtered.text.contains(">ops/tool</a>") && !filtered.text.contains(">team/app</a>"))
            #expect(try await c.send(.get, "/ui/repo/no/such").status == .notFound)
            #expect(try await c.send(.get, "/ui/repo/team/app/_manifest/sha256:nothex").status == .notFound)
            #expect(try await c.send(.get, "/ui/repo/..%2F..%2Fetc").status == .notFound)
            let css = try await c.send(.get, "/ui/static/berth.css")
            #expect(css.status == .ok && css.headers[.cacheControl] == "public, max-age=86400")
            let etag = try #require(css.headers[.eTag])
            #expect(try await c.send(.get, "/ui/static/berth.css", headers: [.ifNoneMatch: etag]).status == .notModified)
            // An open registry has nobody to sign in, and deleting needs a signed-in visitor.
            #expect(try await c.send(.get, "/ui/login").text.contains("nothing to sign in to"))
            #expect(try await c.send(.post, "/ui/repo/team/app/_delete", body: Array("tag=v1".utf8)).status == .forbidden)
        }
    }

    /// Every POST of the UI goes through one form middleware: a body over 16 KiB is refused
    /// before any handler, and without a session (whose CSRF token the form must carry)
    /// nothing is changed; signing out checks its own cookie.
    @Test func postsAreBoundedAndNeedTheSessionsToken() async throws {
        try await APIFixture().run { c, _ in
            _ = try await c.pushImage("team/app", tag: "v1")
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            let big = try await c.send(.post, "/ui/repo/team/app/_delete", headers: form, body: Array(("tag=v1&pad=" + String(repeating: "x", count: 17 * 1024)).utf8))
            #expect(big.status == .contentTooLarge)
            for path in ["/ui/repo/team/app/_delete", "/ui/admin/users", "/ui/admin/users/admin", "/ui/admin/rules"] {
                let refused = try await c.send(.post, path, headers: form, body: Array("csrf=guess&tag=v1&action=add&name=x&password=xxxxxxxx".utf8))
                #expect(refused.status == .forbidden, "\(path)")
                #expect(refused.text.contains("did not come from a page of this site"), "\(path)")
            }
            #expect(try await c.send(.post, "/ui/logout", headers: form, body: Array("csrf=guess".utf8)).status == .forbidden)
            #expect(try await c.send(.get, "/v2/team/app/tags/list").text.contains("v1"), "nothing was deleted")
        }
    }

    /// What refers to an image shows as badges on its tag's line: a cosign signature under
    /// the tag scheme (whose tag is hidden until asked for), a notation signature and an SPDX
    /// SBOM as referrers; the image's page lists them. Its OCI annotations describe the
    /// repository, as text; only web addresses become links.
    @Test func supplyChainBadgesAndTheImagesDescription() async throws {
        try await APIFixture().run { c, _ in
            let image = try await c.pushImage("team/app", tag: "v1", seed: 3)
            let hex = image.digest.hex
            _ = try await c.pushImage("team/app", tag: "sha256-\(hex).sig", seed: 4)
            _ = try await c.pushImage("team/app", tag: "notation", seed: 5, subject: image.digest, artifactType: "application/vnd.cncf.notary.signature")
            _ = try await c.pushImage("team/app", tag: "sbom", seed: 6, subject: image.digest, artifactType: "application/spdx+json")
            // Only the image's own line carries them; the artifacts' own tags are plain lines.
            _ = try await c.send(.delete, "/v2/team/app/manifests/notation")
            _ = try await c.send(.delete, "/v2/team/app/manifests/sbom")

            let page = try await c.send(.get, "/ui/repo/team/app")
            let line = try #require(page.text.components(separatedBy: "<tr>").first { $0.contains("<td class=\"name\">v1</td>") })
            #expect(line.contains(">signed (cosign)</span>") && line.contains(">signed (notation)</span>") && line.contains(">SBOM (SPDX)</span>"), "\(line)")
            #expect(!page.text.contains("<td class=\"name\">sha256-\(hex).sig</td>"), "the signature's tag is hidden by default")
            #expect(page.text.contains("Show 1 signature, attestation or SBOM tag"))
            let all = try await c.send(.get, "/ui/repo/team/app?artifacts=1")
            #expect(all.text.contains("<td class=\"name\">sha256-\(hex).sig</td>") && all.text.contains("Hide signature, attestation and SBOM tags"))
            #expect(all.text.contains("/team/app:v1</code>") && !all.text.contains(".sig</code>"), "pull commands name a plain tag, not the signature's")

            let imagePage = try await c.send(.get, "/ui/repo/team/app/_manifest/\(image.digest)")
            let section = try #require(imagePage.text.components(separatedBy: "<h2>Signatures, attestations and SBOMs</h2>").last)
            #expect(section.contains(">referrer<") && section.contains(">tag sha256-\(hex).sig<"), "\(section.prefix(600))")
            #expect(Self.count("class=\"badge badge-", in: section.components(separatedBy: "</table>")[0]) == 3)

            // An image that describes itself.
            let config = Array(#"{"architecture":"amd64","os":"linux","config":{"Labels":{"org.opencontainers.image.version":"1.2.3"}}}"#.utf8)
            let configDigest = try await c.pushBlob("team/tool", config)
            let layer = try await c.pushBlob("team/tool", [UInt8](repeating: 7, count: 50))
            var manifest = String(decoding: APIFixture.Client.manifest(config: (configDigest, config.count), layers: [(layer, 50)]), as: UTF8.self)
            manifest.removeLast()
            manifest += #","annotations":{"org.opencontainers.image.description":"A <b>tool</b> for teams","org.opencontainers.image.source":"https://example.com/tool","org.opencontainers.image.url":"javascript:alert(1)","org.opencontainers.image.licenses":"Apache-2.0"}}"#
            let put = try await c.send(.put, "/v2/team/tool/manifests/latest", headers: [.contentType: MediaType.ociManifest], body: Array(manifest.utf8))
            #expect(put.status == .created)
            let tool = try await c.send(.get, "/ui/repo/team/tool").text
            #expect(tool.contains(#"<p class="description">A &lt;b&gt;tool&lt;/b&gt; for teams</p>"#))
            #expect(tool.contains(#"<a href="https://example.com/tool" rel="nofollow noopener noreferrer">https://example.com/tool</a>"#))
            #expect(tool.contains("<dd>javascript:alert(1)</dd>") && !tool.contains(#"href="javascript"#))
            #expect(tool.contains("<dd>1.2.3</dd>") && tool.contains("<dd>Apache-2.0</dd>"), "a label stands in for a missing annotation")
        }
    }

    /// An index's size on its tag row and page is what its images take (each blob once), as
    /// the repository list counts the repository, not the few hundred bytes of the index.
    @Test func anIndexIsAsLargeAsItsImages() async throws {
        try await APIFixture().run { c, _ in
            let amd = try await c.pushImage("team/multi", tag: "amd", seed: 1)
            let arm = try await c.pushImage("team/multi", tag: "arm", seed: 2)
            let entries = [(amd, "amd64"), (arm, "arm64")].map { image, architecture in
                #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(image.digest)","size":\#(image.manifest.count),"platform":{"os":"linux","architecture":"\#(architecture)"}}"#
            }
            let index = Array((#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":["# + entries.joined(separator: ",") + "]}").utf8)
            let put = try await c.send(.put, "/v2/team/multi/manifests/multi", headers: [.contentType: "application/vnd.oci.image.index.v1+json"], body: index)
            #expect(put.status == .created)
            let blobs = [amd, arm].reduce(0) { total, image in
                let config = Array(#"{"architecture":"amd64","os":"linux","seed":1}"#.utf8).count
                return total + image.manifest.count + config + 100
            }
            let expected = Int64(index.count + blobs)
            let page = try await c.send(.get, "/ui/repo/team/multi").text
            let row = try #require(page.components(separatedBy: "<tr>").first { $0.contains("<td class=\"name\">multi</td>") })
            let cells = ["<td data-label=\"Size\">\(expected) B</td>", String(format: "<td data-label=\"Size\">%.1f KiB</td>", Double(expected) / 1024)]
            #expect(cells.contains(where: row.contains), "\(row)")
            let list = try await c.send(.get, "/ui/").text
            let listed = try #require(list.components(separatedBy: "<tr>").first { $0.contains(">team/multi</a>") })
            #expect(cells.contains(where: listed.contains),
                    "the repository list agrees: \(listed)")
        }
    }
}

@Suite struct AuditDetailTextTests {
    @Test func jsonDetailsBecomeWords() {
        #expect(AuditDetailText.readable(#"{"match":{"account":"ci","name":"ci/*"},"actions":["pull","push"]}"#)
                == "actions=pull,push match.account=ci match.name=ci/*")
        #expect(AuditDetailText.readable(#"labels {"team":["build","ops"]}"#) == "labels team=build,ops")
        #expect(AuditDetailText.readable(#"["ci/*"] ["pull"]"#) == "ci/* pull")
        #expect(AuditDetailText.readable(#"labels {"team":["ops"],"tier":["gold"]}; expires never"#) == "labels team=ops tier=gold; expires never")
        #expect(AuditDetailText.readable("to #3") == "to #3")
        #expect(AuditDetailText.readable("wrong password") == "wrong password")
    }
}
