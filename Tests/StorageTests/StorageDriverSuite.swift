import Foundation
import NIOCore
import Storage
import Testing

/// Behaviour every `StorageDriver` must have, as Distribution's driver `testsuites`.
@Suite struct StorageDriverSuite {
    func path(_ s: String) throws -> StoragePath { try StoragePath(s) }

    @Test(arguments: DriverKind.allCases)
    func putGetAndOverwrite(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            try await d.putContent(try path("a/b/c"), Array("one".utf8))
            #expect(try await d.getContent(try path("a/b/c")) == Array("one".utf8))
            try await d.putContent(try path("a/b/c"), Array("two!".utf8))
            #expect(try await d.getContent(try path("a/b/c")) == Array("two!".utf8))
            #expect(try await d.stat(try path("a/b/c")).size == 4)
            #expect(try await d.stat(try path("a/b")).isDirectory)
            try await d.putContent(try path("empty"), [])
            #expect(try await d.getContent(try path("empty")) == [])
        }
    }

    @Test(arguments: DriverKind.allCases)
    func missingPathsThrowNotFound(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            let missing = try path("no/such/file")
            await #expect(throws: StorageError.notFound(missing.description)) { try await d.getContent(missing) }
            await #expect(throws: StorageError.self) { try await d.stat(missing) }
            await #expect(throws: StorageError.self) { try await d.list(missing) }
            await #expect(throws: StorageError.self) { try await d.delete(missing) }
            await #expect(throws: StorageError.self) { try await d.move(from: missing, to: try path("x")) }
            await #expect(throws: StorageError.self) { try await d.read(missing, range: nil) { _ in } }
            await #expect(throws: StorageError.self) { try await d.writer(missing, at: nil) }
            await #expect(throws: StorageError.self) { try await d.writer(missing, at: 3) }
            await #expect(throws: StorageError.self) { try await d.writtenSize(missing) }
            #expect(try await d.exists(missing) == false)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func listIsSortedAndShallow(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            for p in ["dir/b", "dir/a/x", "dir/c/y/z", "dir/a/w"] { try await d.putContent(try path(p), [1]) }
            #expect(try await d.list(try path("dir")) == ["a", "b", "c"])
            #expect(try await d.list(try path("dir/a")) == ["w", "x"])
        }
    }

    @Test(arguments: DriverKind.allCases)
    func deleteRemovesTrees(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            for p in ["t/a/1", "t/a/2/3", "t/b"] { try await d.putContent(try path(p), [1]) }
            try await d.delete(try path("t/a"))
            #expect(try await d.list(try path("t")) == ["b"])
            #expect(try await d.exists(try path("t/a/2/3")) == false)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func moveReplacesAtomically(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            try await d.putContent(try path("src"), [1, 2, 3])
            try await d.putContent(try path("deep/dst"), [9])
            try await d.move(from: try path("src"), to: try path("deep/dst"))
            #expect(try await d.getContent(try path("deep/dst")) == [1, 2, 3])
            #expect(try await d.exists(try path("src")) == false)
            try await d.putContent(try path("src2"), [4])
            try await d.move(from: try path("src2"), to: try path("new/parent/dir/file"))
            #expect(try await d.getContent(try path("new/parent/dir/file")) == [4])
        }
    }

    /// Appends `parts` in one write session at `offset` and ends it, as one PATCH does.
    func append<S: AsyncSequence>(_ d: any StorageDriver, _ p: StoragePath, at offset: Int64?, _ chunks: S,
                                  observe: (ByteBuffer) -> Void = { _ in }) async throws -> Int64 where S.Element == ByteBuffer {
        let writer = try await d.writer(p, at: offset)
        do {
            let size = try await writer.write(chunks, observe: observe)
            try await writer.close()
            return size
        } catch {
            try await writer.close()
            throw error
        }
    }

    @Test(arguments: DriverKind.allCases)
    func writersCheckOffsetsAndKeepPrefixOnDisconnect(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            let p = try path("up/data")
            var seen = 0
            let size = try await append(d, p, at: 0, Chunks(parts: [[1, 2], [3]])) { seen += $0.readableBytes }
            #expect(size == 3)
            #expect(seen == 3)
            #expect(try await d.writtenSize(p) == 3)
            await #expect(throws: StorageError.invalidOffset(expected: 1, actual: 3)) {
                _ = try await append(d, p, at: 1, Chunks(parts: [[9]]))
            }
            await #expect(throws: Chunks.DisconnectError.self) {
                _ = try await append(d, p, at: 3, Chunks(parts: [[4, 5], [6]], failAfter: 1))
            }
            #expect(try await d.writtenSize(p) == 5)
            let resumed = try await d.writer(p, at: nil)
            #expect(resumed.size == 5)
            #expect(try await resumed.write(Chunks(parts: [[7]])) == 6)
            try await resumed.commit(to: p)
            #expect(try await d.getContent(p) == [1, 2, 3, 4, 5, 7])
            let empty = try path("up/empty")
            #expect(try await append(d, empty, at: 0, Chunks(parts: [])) == 0)
            #expect(try await d.writtenSize(empty) == 0)
        }
    }

    /// Sessions starting and ending anywhere, chunks of every size, a disconnect after more
    /// than a write batch's worth: the stored bytes are exactly the bytes given, and a disconnected
    /// session keeps all it received.
    @Test(arguments: DriverKind.allCases)
    func largeSessionsAtAnyOffsetKeepEveryByte(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            let p = try path("up/large")
            let blob = randomBytes(5 << 20 + 12_345, seed: 7)
            func parts(_ range: Range<Int>, sizes: [Int]) -> [[UInt8]] {
                var parts: [[UInt8]] = [], start = range.lowerBound, index = 0
                while start < range.upperBound {
                    let end = min(range.upperBound, start + sizes[index % sizes.count])
                    parts.append(Array(blob[start..<end]))
                    start = end
                    index += 1
                }
                return parts
            }
            let first = (1 << 20) * 2 + 4_097
            #expect(try await append(d, p, at: 0, Chunks(parts: parts(0..<first, sizes: [65_537, 7, 1 << 20, 3_000]))) == Int64(first))
            let cut = first + (1 << 20) + 12_289
            await #expect(throws: Chunks.DisconnectError.self) {
                let rest = parts(first..<cut, sizes: [(1 << 20) + 1, 12_288])
                _ = try await append(d, p, at: Int64(first), Chunks(parts: rest + [[0]], failAfter: rest.count))
            }
            #expect(try await d.writtenSize(p) == Int64(cut))
            #expect(try await append(d, p, at: Int64(cut), Chunks(parts: parts(cut..<blob.count, sizes: [4_096, 500_000]))) == Int64(blob.count))
            let writer = try await d.writer(p, at: nil)
            try await writer.commit(to: p)
            #expect(try await d.getContent(p, maxSize: 16 << 20) == blob)
            var middle: [UInt8] = []
            try await d.read(p, range: 1_000_000..<4_500_000) { middle += Array(buffer: $0) }
            #expect(middle == Array(blob[1_000_000..<4_500_000]))
        }
    }

    /// Where a driver says so, what a session has written is readable while it still
    /// writes (a mirror's readers follow a fetch this way): `writtenSize` bytes, exactly the
    /// prefix written.
    @Test(arguments: DriverKind.allCases)
    func unfinishedWritesAreReadableWhereTheDriverSaysSo(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            #expect(d.readsUnfinishedWrites == (kind == .filesystem))
            guard d.readsUnfinishedWrites else { return }
            let p = try path("up/following")
            let part = randomBytes(3 << 20, seed: 5)
            let (chunks, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
            let writer = try await d.writer(p, at: 0)
            let writing = Task { try await writer.write(chunks) }
            feed.yield(ByteBuffer(bytes: part))
            var written: Int64 = 0
            for _ in 0..<500 where written == 0 {
                written = try await d.writtenSize(p)
                if written == 0 { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(written > 0, "the first part reaches the file before the session ends")
            var read: [UInt8] = []
            try await d.read(p, range: 0..<written) { read += Array($0.readableBytesView) }
            #expect(read == Array(part.prefix(Int(written))))
            feed.yield(ByteBuffer(bytes: part))
            feed.finish()
            #expect(try await writing.value == Int64(2 * part.count))
            try await writer.commit(to: p)
            #expect(try await d.getContent(p, maxSize: 8 << 20) == part + part)
        }
    }

    /// A blob larger than any buffer or part, written over several sessions of odd sizes,
    /// committed elsewhere: byte for byte what went in, and the in-progress file is gone.
    @Test(arguments: DriverKind.allCases)
    func sessionsCommitLargeFilesElsewhere(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            let bytes = randomBytes(13 * 1024 * 1024 + 5, seed: 7)
            let p = try path("up/big/data"), target = try path("blobs/big")
            let mib = 1 << 20
            let cuts: [Int] = [0, 1, 3 * mib + 1, 3 * mib + 2, 11 * mib, bytes.count]
            for (start, end) in zip(cuts, cuts.dropFirst()) {
                let parts = stride(from: start, to: end, by: 1 << 20).map { Array(bytes[$0..<min($0 + (1 << 20), end)]) }
                #expect(try await append(d, p, at: Int64(start), Chunks(parts: parts)) == Int64(end))
            }
            let writer = try await d.writer(p, at: Int64(bytes.count))
            try await writer.commit(to: target)
            #expect(try await d.getContent(target, maxSize: 1 << 30) == bytes)
            #expect(try await d.stat(target).size == Int64(bytes.count))
            #expect(try await d.exists(p) == false)
            // An empty file commits too.
            let empty = try await d.writer(try path("up/none/data"), at: 0)
            try await empty.commit(to: try path("blobs/empty"))
            #expect(try await d.getContent(try path("blobs/empty")) == [])
        }
    }

    @Test(arguments: DriverKind.allCases)
    func cancelledSessionsLeaveNothing(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            let p = try path("up/gone/data")
            _ = try await append(d, p, at: 0, Chunks(parts: [randomBytes(6 * 1024 * 1024)]))
            let writer = try await d.writer(p, at: nil)
            try await writer.cancel()
            #expect(try await d.exists(p) == false)
            await #expect(throws: StorageError.self) { try await d.writtenSize(p) }
            // The path is free again for a new session.
            #expect(try await append(d, p, at: 0, Chunks(parts: [[1]])) == 1)
        }
    }

    /// Two PATCHes of one upload at the same offset: the one that started writing wins, the
    /// other is told the offset is wrong, and no byte of it lands in the file.
    @Test(arguments: DriverKind.allCases)
    func concurrentAppendsAtOneOffsetLetExactlyOneWrite(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            let p = try path("up/race")
            _ = try await append(d, p, at: 0, Chunks(parts: [[0]]))
            let (body, feed) = AsyncStream<ByteBuffer>.makeStream()
            let (started, signal) = AsyncStream<Void>.makeStream()
            let first = Task { try await append(d, p, at: 1, body) { _ in signal.yield() } }
            feed.yield(ByteBuffer(bytes: [1, 1]))
            var iterator = started.makeAsyncIterator()
            _ = await iterator.next()
            await #expect(throws: StorageError.self) {
                _ = try await append(d, p, at: 1, Chunks(parts: [[2, 2, 2]]))
            }
            feed.yield(ByteBuffer(bytes: [1]))
            feed.finish()
            #expect(try await first.value == 4)
            let check = try await d.writer(p, at: 4)
            try await check.commit(to: p)
            #expect(try await d.getContent(p) == [0, 1, 1, 1])
            await #expect(throws: StorageError.invalidOffset(expected: 1, actual: 4)) {
                _ = try await append(d, p, at: 1, Chunks(parts: [[2]]))
            }
            // Once the first is done, the file is free for the next chunk.
            #expect(try await append(d, p, at: 4, Chunks(parts: [[5]])) == 5)
        }
    }

    /// Replicas starting at once each try to create the shared secret: exactly one wins and
    /// everyone reads its value.
    @Test(arguments: DriverKind.allCases)
    func createContentHasExactlyOneWinner(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let p = try path("berth/shared/secret")
            let results = try await withThrowingTaskGroup(of: (Bool, UInt8).self) { group in
                for i in 0..<8 {
                    let d = try make()
                    group.addTask { (try await d.createContent(p, [UInt8(i), 1, 2], privately: true), UInt8(i)) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let winners = results.filter(\.0)
            #expect(winners.count == 1)
            let d = try make()
            #expect(try await d.getContent(p) == [winners.first?.1 ?? 255, 1, 2])
            #expect(try await d.createContent(p, [9], privately: false) == false)
            #expect(try await d.getContent(p) == [winners.first?.1 ?? 255, 1, 2])
        }
    }

    @Test(arguments: DriverKind.allCases)
    func readStreamsRangesOfLargeFiles(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            let bytes = randomBytes(3 * 1024 * 1024 + 17)
            try await d.putContent(try path("big"), bytes)
            var all: [UInt8] = []
            var chunks = 0
            try await d.read(try path("big"), range: nil) { all += Array($0.readableBytesView); chunks += 1 }
            #expect(all == bytes)
            #expect(chunks > 1)
            var part: [UInt8] = []
            try await d.read(try path("big"), range: 1_000_000..<2_500_000) { part += Array($0.readableBytesView) }
            #expect(part == Array(bytes[1_000_000..<2_500_000]))
        }
    }

    @Test(arguments: DriverKind.allCases)
    func walkVisitsChosenDirectories(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let d = try make()
            for p in ["r/a/_m/x", "r/a/b/_m/x", "r/_skip/_m/x", "r/c/file"] { try await d.putContent(try path(p), [1]) }
            let found = Box()
            try await d.walk(try path("r")) { relative, children in
                if children.contains("_m") { found.add(relative.joined(separator: "/")) }
                return children.filter { !$0.hasPrefix("_") }
            }
            #expect(found.values.sorted() == ["a", "a/b"])
        }
    }

    /// `berth gc` or `backup` opening the storage while `berth serve` writes must not remove
    /// the server's temporary files; only ones a crash left long ago.
    @Test func anotherProcessOpeningTheRootKeepsFreshTemporaryFiles() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-tmp-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try FilesystemDriver(rootDirectory: root)
        let fresh = root + "/.berth-tmp/in-flight", stale = root + "/.berth-tmp/left-by-a-crash"
        FileManager.default.createFile(atPath: fresh, contents: Data([1]))
        FileManager.default.createFile(atPath: stale, contents: Data([2]))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -2 * 3600)], ofItemAtPath: stale)
        _ = try FilesystemDriver(rootDirectory: root)
        #expect(FileManager.default.fileExists(atPath: fresh))
        #expect(!FileManager.default.fileExists(atPath: stale))
    }

    @Test func pathsCannotEscapeTheRoot() {
        for bad in ["../x", "a/../b", "a//b", "/abs", "a/./b", "a\u{0}b", ""] {
            #expect(throws: StorageError.self) { try StoragePath(bad) }
        }
    }
}

final class Box: @unchecked Sendable {
    private var items: [String] = []
    private let lock = NSLock()
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var values: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

import Foundation
