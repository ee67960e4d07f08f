import Storage
import Foundation
import HTTPTypes
import HummingbirdTesting
import OCI
@testable import Server
import Testing

@Suite struct ConcurrentFinishTests {
    /// Eight clients finishing one upload at once: one creates the blob, the others learn the
    /// session is gone (404 BLOB_UPLOAD_UNKNOWN), never a range error for a range never sent.
    @Test(arguments: ["memory", "disk"])
    func oneFinalPutWinsTheOthersFindTheUploadGone(_ storage: String) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-race-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await APIFixture { if storage == "disk" { $0.storage = .filesystem(rootDirectory: root) } }.run { c, _ in
            let bytes = [UInt8](repeating: 7, count: 256 * 1024)
            let digest = Digest.compute(bytes)
            let started = try await c.send(.post, "/v2/race/app/blobs/uploads/")
            let location = try #require(started.locationPath)
            let separator = location.contains("?") ? "&" : "?"
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let r = try await c.send(.put, location + separator + "digest=\(digest)",
                                                 headers: [.contentType: "application/octet-stream"], body: bytes)
                        return (r.status, r.errorCode)
                    }
                }
                var all: [(HTTPResponse.Status, String?)] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(statuses.filter { $0.0 == .created }.count == 1, "\(statuses)")
            for (status, code) in statuses where status != .created {
                #expect(status == .notFound && code == "BLOB_UPLOAD_UNKNOWN", "\(status) \(code ?? "-")")
            }
            #expect(try await c.send(.get, "/v2/race/app/blobs/\(digest)").status == .ok)
        }
    }
}

@Suite struct UploadLocksTests {
    /// A request stuck ahead (a stalled client) delays the next one at most the patience; it
    /// then proceeds as without the lock.
    @Test func aStalledHolderDelaysOthersOnlyForThePatience() async throws {
        let locks = KeyedLocks(patience: .milliseconds(200))
        let (holding, holdingSignal) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseSignal) = AsyncStream.makeStream(of: Void.self)
        let stalled = Task {
            try await locks.withLock("u") {
                holdingSignal.yield()
                for await _ in release { break }
            }
        }
        for await _ in holding { break }
        let started = ContinuousClock.now
        try await locks.withLock("u") {}
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        releaseSignal.yield()
        try await stalled.value
        // Free again: no wait at all is needed now, and none is asserted.
        try await locks.withLock("u") {}
    }
}
