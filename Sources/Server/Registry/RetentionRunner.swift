import Accounts
import Foundation
import Logging
import Notifications
import OCI
import Policies
import ServiceLifecycle
import Synchronization
import Storage

/// Runs the retention policies against this server's content: planned from the storage,
/// applied through the policed content `/v2` serves (immutable tags still hold), each removal
/// sent as a delete event (webhooks, and the audit log as by `retention`), the run itself
/// audited with what it removed.
package struct RetentionRunner: Sendable {
    let api: RegistryAPI
    let store: RegistryStore
    let directory: AccountDirectory
    let logger: Logger

    static let actor = "retention"
    /// One run at a time in this process: the schedule's and the admin API's runners share it.
    var lock = RunLock()

    package init(api: RegistryAPI, store: RegistryStore, directory: AccountDirectory, logger: Logger, lock: RunLock = RunLock()) {
        self.api = api
        self.store = store
        self.directory = directory
        self.logger = logger
        self.lock = lock
    }

    func run(dryRun: Bool) async throws -> RetentionPlan {
        try await lock.exclusively { try await runUnlocked(dryRun: dryRun) }
    }

    private func runUnlocked(dryRun: Bool) async throws -> RetentionPlan {
        let retention = try Retention(records: directory.snapshot.repositoryPolicies)
        guard !retention.rules.isEmpty else { return RetentionPlan(startedAt: Date(), removals: []) }
        // A mirror's repositories have their own retention (proxy.ttl).
        let names = try await store.allRepositories().filter { name in
            (try? RepositoryName(name)).map { api.store.upstream(of: $0) == nil } ?? false
        }
        let plan = try await retention.plan(store, repositories: names, remember: !dryRun)
        guard !dryRun else { return plan }
        let events = RequestEvents(sinks: api.eventSinks, request: Event.Request(id: "retention", addr: "-", host: "", method: "DELETE", useragent: "berth retention"),
                                   actor: Self.actor, includeReferences: false)
        let done = await retention.apply(plan, store: store, content: api.store) { removal in
            events.emit(.delete, mediaType: nil, Event.Target(digest: removal.digest, repository: removal.repository, tag: removal.tag))
        }
        let freed = done.removals.filter { $0.tag == nil }.compactMap(\.size).reduce(0, +)
        directory.recordContentChange(AuditEntry(
            actor: Self.actor, action: "retention.run", target: "\(Set(done.removals.map(\.repository)).count) repositories",
            detail: "\(done.removals.filter { $0.tag != nil }.count) tags and \(done.removals.filter { $0.tag == nil }.count) manifests removed"
                + (done.skipped.isEmpty ? "" : ", \(done.skipped.count) skipped") + (freed > 0 ? "; gc frees up to \(freed) bytes" : "")))
        logger.info("retention ran", metadata: ["removed": .stringConvertible(done.removals.count), "skipped": .stringConvertible(done.skipped.count)])
        return done
    }
}

/// Retention inside serve, every `interval` (default daily): one replica at a time (claimed
/// in the accounts database), never while another run is under way here.
package struct RetentionSchedule: Service {
    let runner: RetentionRunner
    let interval: TimeInterval

    package init(runner: RetentionRunner, interval: TimeInterval) {
        self.runner = runner
        self.interval = interval
    }
    let replica = UUID().uuidString

    package func run() async throws {
        try? await cancelWhenGracefulShutdown {
            // Checked every minute (or sooner for short intervals), run when due.
            let tick = max(1, min(60, interval / 10))
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(tick)) } catch { return }
                do {
                    guard runner.directory.snapshot.repositoryPolicies.contains(where: { $0.kind == "retention" }),
                          try await runner.directory.store.claimJob("retention", interval: interval, replica: replica) else { continue }
                    _ = try await runner.run(dryRun: false)
                } catch {
                    runner.logger.error("retention failed", metadata: ["error": .string("\(error)")])
                }
            }
        }
    }
}

/// Runs bodies one after another.
package final class RunLock: Sendable {
    private let tail = Mutex<Task<Void, Never>?>(nil)

    package init() {}

    func exclusively<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let (previous, mine) = tail.withLock { tail -> (Task<Void, Never>?, Task<Result<T, any Error>, Never>) in
            let previous = tail
            let mine = Task { () -> Result<T, any Error> in
                await previous?.value
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            tail = Task { _ = await mine.value }
            return (previous, mine)
        }
        _ = previous
        return try await mine.value.get()
    }
}
