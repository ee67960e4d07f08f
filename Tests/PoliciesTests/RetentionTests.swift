import Accounts
import Foundation
import NIOCore
import OCI
import Policies
import Storage
import Testing

/// Retention's plan and its application on a filesystem store whose tags' push times the test
/// sets (the link files' modification times), so ages are exact, not waited for.
@Suite struct RetentionTests {
    let repo = try! RepositoryName("ci/app")
    let day: TimeInterval = 86400

    struct Fixed: RepositoryPolicySource {
        let list: [any RepositoryPolicy]
        func policies() async throws -> [any RepositoryPolicy] { list }
    }

    func withStore(_ body: (RegistryStore, String) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-retention-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await body(RegistryStore(driver: try FilesystemDriver(rootDirectory: root)), root)
    }

    /// Pushes image `seed` as `tag`, dated `age` ago.
    @discardableResult
    func push(_ store: RegistryStore, _ root: String, _ tag: String, seed: Int, age: TimeInterval) async throws -> Digest {
        let config = Array(#"{"seed":\#(seed)}"#.utf8)
        let id = try await store.startUpload(repo)
        _ = try await store.appendUpload(repo, id, at: 0, from: ImmutableTagsTests.Chunks(parts: [config]))
        _ = try await store.completeUpload(repo, id, digest: Digest.compute(config))
        let bytes = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(Digest.compute(config))","size":\#(config.count)},"layers":[]}"#.utf8)
        let result = try await store.putManifest(repo, .tag(try Tag(tag)), bytes: bytes, contentType: MediaType.ociManifest)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-age)],
                                              ofItemAtPath: root + "/" + Layout.tagCurrentLink(repo, try Tag(tag)).description)
        return result.digest
    }

    @Test func keepsTheNewestTheRecentTheNamedAndTheImmutable() async throws {
        try await withStore { store, root in
            for (index, tag) in ["a", "b", "c", "d", "e", "release-1", "v1"].enumerated() {
                try await push(store, root, tag, seed: index, age: Double(10 - index) * day)   // a oldest … v1 newest
            }
            try await push(store, root, "fresh", seed: 20, age: 0.5 * day)
            let retention = Retention(rules: [RetentionRule(repositories: "ci/*", keepLast: 2, keepDays: 5, keepTags: "release-*", label: "retention #1")],
                                      immutable: ImmutableTags(rules: [.init(repositories: "ci/*", tags: "a", label: "immutable #1")]))
            let plan = try await retention.plan(store, repositories: ["ci/app", "other/app"], remember: false)
            // Newest 2: fresh, v1; within 5 days: e (age 6? no: e is 6 days), release-1 (5 days: kept by pattern and age), v1;
            // named: release-1; immutable: a. Removed: b, c, d, e.
            #expect(plan.removals.map { $0.tag ?? "-" }.sorted() == ["b", "c", "d", "e"])
            #expect(plan.removals.allSatisfy { $0.size != nil && $0.policy == "retention #1" && $0.reason.contains("newest 2") })
            // A dry run changes nothing.
            #expect(try await store.tags(repo).count == 8)
        }
    }

    @Test func tagsPulledWithinTheDaysAreKept() async throws {
        try await withStore { store, root in
            for (index, tag) in ["pulled-lately", "pulled-long-ago", "never-pulled", "pushed-lately"].enumerated() {
                try await push(store, root, tag, seed: index, age: index == 3 ? 1 * day : 30 * day)
            }
            try await store.recordTagPull(repo, try Tag("pulled-lately"), at: Date().addingTimeInterval(-2 * day))
            try await store.recordTagPull(repo, try Tag("pulled-long-ago"), at: Date().addingTimeInterval(-20 * day))
            var rule = RetentionRule(repositories: "ci/*", keepPulledDays: 7, label: "retention #1")
            rule.addedAt = Date().addingTimeInterval(-25 * day)
            let plan = try await Retention(rules: [rule], immutable: nil).plan(store, repositories: ["ci/app"], remember: false)
            #expect(plan.removals.map { $0.tag ?? "-" }.sorted() == ["never-pulled", "pulled-long-ago"])
            #expect(plan.removals.allSatisfy { $0.reason == "not pulled within 7 days" })
            // A policy added lately gives every tag its days to be pulled from then.
            rule.addedAt = Date().addingTimeInterval(-1 * day)
            let fresh = try await Retention(rules: [rule], immutable: nil).plan(store, repositories: ["ci/app"], remember: false)
            #expect(fresh.removals.map { $0.tag ?? "-" } == ["pulled-long-ago"])
        }
    }

    @Test(.timeLimit(.minutes(1))) func pullsOfTagsAreRecordedThroughTheContentSeamOnlyWhereAPolicyAsks() async throws {
        try await withStore { store, root in
            try await push(store, root, "v1", seed: 1, age: day)
            let record = RepositoryPolicyRecord(id: "r1", kind: "retention", spec: ["name": "ci/*", "keep_pulled_days": "7"], comment: nil, createdAt: Date())
            let recorder = TagPullRecorder(store: store)
            let policies = PolicyKinds.policies([record], context: .init(tagPulls: recorder))
            let content = PolicedContent(store, policies: ImmutableTagsTests.Fixed(list: policies))
            _ = try await content.manifestHead(repo, .tag(try Tag("v1")))
            _ = try await content.manifest(repo, .digest(try await store.resolveTag(repo, try Tag("v1"))!))
            #expect(try await store.tagPulls(repo).isEmpty)
            _ = try await content.manifest(repo, .tag(try Tag("v1")))
            // Written off the request's path.
            while try await store.tagPulls(repo)["v1"] == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
    }

    @Test func untaggedManifestsGoOnlyAfterTheirGraceAndNeverWhatMovedMeanwhile() async throws {
        try await withStore { store, root in
            let old = try await push(store, root, "old", seed: 1, age: 30 * day)
            try await push(store, root, "new", seed: 2, age: 1 * day)
            let retention = Retention(rules: [RetentionRule(repositories: "ci/*", keepLast: 1, untaggedAfter: 3600, label: "retention #1")], immutable: nil)
            let content = PolicedContent(store, policies: Fixed(list: []))
            var removed: [String] = []
            let first = try await retention.plan(store, repositories: ["ci/app"])
            #expect(first.removals.map { $0.tag } == ["old"])
            let done = await retention.apply(first, store: store, content: content) { removed.append($0.tag ?? $0.digest) }
            #expect(done.removals.count == 1 && removed == ["old"])
            #expect(try await store.revisionDigests(repo).contains(old), "the manifest stays until untagged_after has passed")
            // Not yet an hour untagged: kept. An hour later: deleted.
            #expect(try await retention.plan(store, repositories: ["ci/app"]).removals.isEmpty)
            let later = try await retention.plan(store, repositories: ["ci/app"], now: Date().addingTimeInterval(3700))
            #expect(later.removals.map(\.digest) == [old.description] && later.removals.first?.tag == nil)

            // Tagged again before the run applies it: left alone.
            try await push(store, root, "again", seed: 1, age: 0)
            let raced = await retention.apply(later, store: store, content: content) { _ in }
            #expect(raced.removals.isEmpty && raced.skipped.count == 1)
            #expect(try await store.revisionDigests(repo).contains(old))
        }
    }

    @Test func aTagPushedAfterThePlanIsNeverRemoved() async throws {
        try await withStore { store, root in
            try await push(store, root, "x", seed: 1, age: 10 * day)
            try await push(store, root, "y", seed: 2, age: 1 * day)
            let retention = Retention(rules: [RetentionRule(repositories: "ci/*", keepLast: 1, label: "retention #1")], immutable: nil)
            let plan = try await retention.plan(store, repositories: ["ci/app"])
            #expect(plan.removals.map { $0.tag } == ["x"])
            // x is pushed again (another image) after the plan was made.
            try await push(store, root, "x", seed: 3, age: -1)
            let done = await retention.apply(plan, store: store, content: PolicedContent(store, policies: Fixed(list: []))) { _ in }
            #expect(done.removals.isEmpty && done.skipped.first?.contains("moved") == true)
            #expect(try await store.tags(repo).sorted() == ["x", "y"])
        }
    }

    @Test func settingsAreChecked() {
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "retention", spec: ["name": "ci/*"]) }
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "retention", spec: ["name": "ci/*", "keep_last": "ten"]) }
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "retention", spec: ["name": "ci/*", "untagged_after": "soon"]) }
        #expect(throws: Never.self) { try PolicyKinds.check(kind: "retention", spec: ["name": "ci/*", "keep_last": "10", "untagged_after": "24h"]) }
    }
}
