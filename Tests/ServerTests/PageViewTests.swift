@testable import Server
import Accounts
import Foundation
import Mustache
import OCI
import Testing

/// The pages' view models: what each shows, from values, without a server or a browser.
@Suite struct PageViewTests {
    static let frame = PageFrame(title: "t", base: "", signedIn: true, account: "admin", csrf: "c", readOnly: false, deletesOff: false)

    @Test func pullCountsAddUpPerRepositoryMostPulledFirst() {
        let page = AdminPullsPage(frame: Self.frame, filterRepository: "", days: 7, counts: [
            PullCount(repository: "team/app", day: "2026-12-05", pulls: 3),
            PullCount(repository: "ops/tool", day: "2026-12-05", pulls: 4),
            PullCount(repository: "team/app", day: "2026-12-04", pulls: 2),
        ], totals: ([("team/app", 5), ("ops/tool", 4)], 9, 2))
        #expect(page.totals.map { "\($0.repository)=\($0.pulls)" } == ["team/app=5", "ops/tool=4"])
        #expect(page.rows.count == 3 && page.hasRows && page.cutNote == nil)
        #expect(page.summary == "9 pulls of 2 repositories in the last 7 days")
        let none = AdminPullsPage(frame: Self.frame, filterRepository: "x", days: 1, counts: [], totals: ([], 0, 0))
        #expect(!none.hasRows && none.summary == "0 pulls of 0 repositories in the last 1 day")
        let cut = AdminPullsPage(frame: Self.frame, filterRepository: "", days: 30, counts: page.rows.map { PullCount(repository: $0.repository, day: $0.day, pulls: $0.pulls) },
                                 totals: ([("team/app", 5000)], 9000, 40), cut: true)
        #expect(cut.summary == "9000 pulls of 40 repositories in the last 30 days" && cut.cutNote?.hasPrefix("Per day: the newest 3 rows") == true)
    }

    @Test func anImagesDescriptionLinksOnlyWebAddresses() {
        let about = RepositoryPage.About(tag: "latest", ["description": "A tool", "source": "https://example.com/src",
                                                         "url": "javascript:alert(1)", "licenses": "MIT", "version": "1.0", "vendor": "x"])
        #expect(about.description == "A tool")
        #expect(about.facts.map(\.key) == ["Version", "Source", "Website", "Licenses"])
        #expect(about.facts.map(\.link) == [nil, "https://example.com/src", nil, nil])
        #expect(ManifestSummaries.about(annotations: ["org.opencontainers.image.version": "2"],
                                        labels: ["org.opencontainers.image.version": "1", "org.opencontainers.image.title": "t", "other": "o"])
                == ["version": "2", "title": "t"], "annotations win over labels; other keys are left out")
    }

    @Test func artifactsAttachByTagSchemeAndByReferrer() throws {
        let image = Digest.compute(Array("image".utf8))
        let other = Digest.compute(Array("other".utf8))
        let tags = try ["v1", "sha256-\(image.hex).sig", "sha256-\(image.hex).att", "sha256-\(other.hex).sbom", "sha256-\(image.hex)"].map { try Tag($0) }
        let attached = AttachedArtifacts(tags: tags)
        #expect(tags.filter(attached.isArtifactTag).count == 4)
        let referrers = [Descriptor(mediaType: MediaType.ociManifest, digest: other, size: 1, artifactType: "application/spdx+json"),
                         Descriptor(mediaType: MediaType.ociManifest, digest: other, size: 1, artifactType: "application/vnd.cncf.notary.signature"),
                         Descriptor(mediaType: MediaType.ociManifest, digest: other, size: 1, artifactType: "application/vnd.example")]
        #expect(attached.artifacts(of: image, referrers: referrers).map(\.label)
                == ["signed (cosign)", "signed (notation)", "attestation (cosign)", "SBOM (SPDX)"])
        #expect(attached.artifacts(of: other, referrers: []).map(\.label) == ["SBOM (cosign)"])
    }

    @Test func storageByNamespaceAndWhatIsLeftUnfinished() {
        let report = StorageUsageCache.Report(at: Date(timeIntervalSince1970: 1_796_486_400),
                                              rows: [("team/app", 3, 3000), ("ops/tool", 1, 5000), ("team/web", 2, 4000), ("solo", 1, 10)],
                                              abandonedUploads: 2, abandonedBytes: 2048)
        #expect(report.namespaces.map(\.name) == ["team", "ops", "solo"] && report.namespaces[0].bytes == 7000)
        let storage = HomePage.Storage(report)
        #expect(storage.computedAt == "2026-12-05 16:00 UTC" && storage.total == "11.7 KiB")
        #expect(storage.abandoned == "2 uploads unfinished for over a day, 2.0 KiB: berth gc --purge-uploads removes them")
        #expect(HomePage.Storage(StorageUsageCache.Report(at: Date(), rows: [])).abandoned == nil)
    }

    @Test func repositoryListPagesKeepTheFilter() {
        let page = RepositoriesPage(frame: Self.frame, query: "a b", repositories: [], total: 120, page: 2, pages: 3)
        #expect(page.previous == "?q=a%20b&page=1" && page.next == "?q=a%20b&page=3" && page.filtered == "a b" && !page.one)
    }

    /// The fields a page answers by name (for speed) must be those `Mirror` would find.
    static func mismatches(_ value: some MustacheParent) -> [String] {
        func unwrapped(_ any: Any?) -> String {
            guard let any else { return "nil" }
            let mirror = Mirror(reflecting: any)
            if mirror.displayStyle == .optional { return mirror.children.first.map { unwrapped($0.value) } ?? "nil" }
            return String(describing: any)
        }
        var wrong: [String] = []
        for child in Mirror(reflecting: value).children {
            guard let label = child.label else { continue }
            if unwrapped(value.child(named: label)) != unwrapped(child.value) { wrong.append(label) }
        }
        if value.child(named: "noSuchField") != nil { wrong.append("noSuchField") }
        return wrong
    }

    @Test func pagesAnswerTheirTemplatesLookupsAsReflectionWould() {
        var frame = Self.frame
        frame.notice = "n"
        let row = RepositoryPage.Row(tag: "v1", digest: nil, shortDigest: "s", kind: "image", platforms: "linux/amd64", size: "1 B",
                                     pushed: "p", pushedISO: "i", badges: [.init(label: "signed (cosign)", kind: "signature")])
        let page = RepositoryPage(frame: frame, name: "team/app", lastComponent: "app", host: "h", firstTag: "v1", hasTags: true, tlsFlag: "",
                                  mirrorOf: nil, pulls: "1 pull", about: nil, query: "", filtered: nil, byName: true, showArtifacts: false,
                                  artifactsToggle: nil, artifactsToggleText: "t", deletable: true, tags: [row], total: 1, totalTags: "1 tag",
                                  page: 1, pages: 1, previous: nil, next: "?page=2")
        #expect(Self.mismatches(frame).isEmpty && Self.mismatches(page).isEmpty && Self.mismatches(row).isEmpty)
        #expect(Self.mismatches(row.badges[0]).isEmpty)
        let list = RepositoriesPage(frame: frame, query: "q", repositories: [.init(name: "a", tags: 1, size: "1 B", pushed: "p", pushedISO: "i", mirrorOf: nil)],
                                    total: 1, page: 1, pages: 1)
        #expect(Self.mismatches(list).isEmpty && Self.mismatches(list.repositories[0]).isEmpty)
        let audit = AdminAuditPage(frame: frame, filterAccount: "a", action: "", entries: [.init(at: "t", actor: "a", action: "login", target: "a",
                                                                                                     address: "-", result: "ok", detail: "")],
                                   olderLink: nil, newestLink: "l")
        #expect(Self.mismatches(audit).isEmpty && Self.mismatches(audit.entries[0]).isEmpty)
    }
}
