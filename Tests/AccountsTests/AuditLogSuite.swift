@testable import Accounts
import Foundation
import Synchronization
import Testing

/// The audit log under a flood: refused logins are aggregated, never at the cost of a real
/// event, what is kept is bounded, and everything kept can be paged through.
@Suite struct AuditLogSuite {
    func directory(_ store: AccountStore) async throws -> AccountDirectory {
        try await AccountDirectory(store: store, logger: testLogger)
    }

    @Test(arguments: AccountEngine.allCases)
    func repeatedRefusalsAreOneCountedRow(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let directory = try await directory(store)
            for _ in 0..<300 { await directory.recordLogin(account: "ci", address: "10.0.0.1", success: false, reason: "throttled") }
            await directory.flushAudit()
            for _ in 0..<20 { await directory.recordLogin(account: "ci", address: "10.0.0.1", success: false, reason: "throttled") }
            await directory.recordLogin(account: "ci", address: "10.0.0.2", success: false, reason: "throttled")
            await directory.flushAudit()
            let refused = try await store.audit(limit: 100, action: "login").filter { !$0.success }
            // One row per address, unless a minute ended in between (then one more).
            #expect(refused.count == 2 || refused.count == 3)
            #expect(refused.filter { $0.address == "10.0.0.1" }.map { $0.count ?? 1 }.reduce(0, +) == 320)
            #expect(refused.filter { $0.address == "10.0.0.2" }.map { $0.count ?? 1 } == [1])
        }
    }

    @Test func aFloodNeverHidesASuccessfulLogin() async throws {
        try await withStore(.sqlite) { store, _ in
            let recorder = AuditRecorder(refusalCapacity: 100)
            for i in 0..<5_000 { recorder.login(account: "junk\(i)", address: "10.0.\(i / 256).\(i % 256)", success: false, reason: "unknown account") }
            recorder.login(account: "admin", address: "192.0.2.1", success: true, reason: nil)
            for i in 5_000..<10_000 { recorder.login(account: "junk\(i)", address: "10.0.\(i / 256 % 256).\(i % 256)", success: false, reason: "unknown account") }
            #expect(recorder.notItemised >= 9_800)
            let batch = recorder.drain()
            try await store.record(batch.entries, increments: batch.increments)
            let all = try await store.audit(limit: 10_000)
            #expect(all.contains { $0.success && $0.actor == "admin" && $0.address == "192.0.2.1" })
            // At most the capacity itemised per minute, plus one row counting the rest.
            #expect(all.count <= 2 * 100 + 2 + 1)
            let total = all.filter { !$0.success }.map { $0.count ?? 1 }.reduce(0, +)
            #expect(total == 10_000)
            #expect(all.contains { $0.actor == AuditRecorder.notItemisedAccount })
        }
    }

    @Test func aBatchTheDatabaseRefusedIsWrittenLater() async throws {
        let recorder = AuditRecorder()
        recorder.login(account: "admin", address: nil, success: true, reason: nil)
        recorder.login(account: "ci", address: nil, success: false, reason: "wrong password")
        let first = recorder.drain()
        recorder.putBack(first)
        recorder.login(account: "ci", address: nil, success: false, reason: "wrong password")
        let second = recorder.drain()
        #expect(second.entries.count == 2)
        // The refusal's row was never written: its later count is an increment of that row.
        #expect(second.increments.values.reduce(0, +) == 1)
    }

    @Test(arguments: AccountEngine.allCases)
    func everythingKeptCanBePagedAndRetentionBoundsIt(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let base = Date(timeIntervalSinceNow: -3600)
            let entries = (0..<25).map { AuditEntry(actor: "cli:test", action: "user.add", target: "u\($0)", at: base.addingTimeInterval(Double($0))) }
            try await store.record(entries)
            var seen: [String] = []
            var cursor: AuditCursor?
            while true {
                let page = try await store.audit(limit: 10, action: "user", before: cursor)
                seen += page.map(\.target)
                guard page.count == 10, let last = page.last else { break }
                cursor = AuditCursor(after: last)
                #expect(AuditCursor(cursor!.text) == cursor)
            }
            #expect(seen == (0..<25).reversed().map { "u\($0)" })

            try await store.pruneAudit(AuditRetention(maxEntries: 10, maxAge: 86400))
            #expect(try await store.audit(limit: 100).map(\.target) == (15..<25).reversed().map { "u\($0)" })
            try await store.pruneAudit(AuditRetention(maxEntries: 100, maxAge: 60))
            #expect(try await store.audit(limit: 100).isEmpty)
        }
    }
}

@Suite struct CancelledTransactionSuite {
    /// A change whose task is cancelled half-way (a client that went away, a shutdown) rolls
    /// back and leaves the connection usable: once, a cancelled audit write left SQLite inside
    /// its transaction and every later change failed.
    @Test(arguments: AccountEngine.allCases)
    func aCancelledTransactionRollsBackAndTheNextOneWorks(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let before = try await store.generation()
            let (started, signal) = AsyncStream.makeStream(of: Void.self)
            let task = Task {
                try await store.database.transaction { sql in
                    try await sql.raw("UPDATE berth_generation SET value = value + 1000 WHERE id = 1").run()
                    signal.yield()
                    try await Task.sleep(for: .seconds(600))
                }
            }
            for await _ in started { break }
            task.cancel()
            _ = await task.result
            #expect(try await store.generation() < before + 1000)
            try await store.addUser("after", passwordHash: nil, by: cli)
            #expect(try await store.user("after") != nil)
        }
    }
}

@Suite struct AppliedChangeSuite {
    /// The CLI waits on running servers: each records the generation it decides with.
    @Test(arguments: AccountEngine.allCases)
    func aChangeIsAppliedOnceEveryRunningServerReadIt(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let server = try await AccountDirectory(store: store, announces: true, logger: testLogger)
            _ = try await AccountDirectory(store: store, logger: testLogger)  // a CLI's own: not waited on
            try await store.addUser("ci", passwordHash: nil, by: cli)
            let changed = try await store.generation()
            #expect(try await store.replicasBehind(changed) == 1)
            #expect(try await store.waitUntilApplied(limit: .milliseconds(100)) == false)
            await server.tick()
            #expect(try await store.replicasBehind(changed) == 0)
            #expect(try await store.waitUntilApplied(limit: .milliseconds(100)))
        }
    }
}

@Suite struct AuditFloodReportSuite {
    /// What a flood leaves only counted reaches the metric (and the log) once per flush.
    @Test func refusalsNotItemisedAreReported() async throws {
        try await withStore(.sqlite) { store, _ in
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            let reported = Mutex(0)
            directory.observeAuditNotItemised { count in reported.withLock { $0 += count } }
            for i in 0..<10_050 { await directory.recordLogin(account: "junk\(i)", address: "10.0.0.1", success: false, reason: "unknown account") }
            await directory.flushAudit()
            #expect(reported.withLock { $0 } == 50)
            await directory.flushAudit()
            #expect(reported.withLock { $0 } == 50)
            let rows = try await store.audit(limit: 10_000, account: "(many)")
            #expect(rows.map { $0.count ?? 1 }.reduce(0, +) == 50)
        }
    }
}
