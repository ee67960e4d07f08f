import Auth
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The database as the token service sees it: an identity backend and two access policies
/// (robots, then the ordered rules) answering from an in-memory snapshot. `run()` keeps the
/// snapshot current by reading the store's generation every `pollInterval`. A request that
/// finds the snapshot older than `staleAfter` checks the store itself (one check shared by
/// concurrent requests), so a poller starved of CPU never fails a request; when the store
/// cannot be reached, requests get `AuthError.unavailable` (503) rather than decisions that
/// may be out of date (a disabled account must not keep working).
public final class AccountDirectory: IdentityBackend, Service, Sendable {
    public let store: AccountStore
    let pollInterval: Duration
    let staleAfter: Duration
    let logger: Logger
    let bcrypt = CachedBcryptCheck()
    let recorder = AuditRecorder()

    private struct State {
        var snapshot: AccountSnapshot
        var verified: ContinuousClock.Instant
        /// When the store last failed to answer; for `staleAfter` from then, stale requests
        /// fail at once instead of each waiting for a database that is down.
        var failedAt: ContinuousClock.Instant?
        var check: Task<Void, any Error>?
        var purgedAt: ContinuousClock.Instant = .now
        /// What this server last told the store it applied, and when.
        var reported: (generation: Int64, at: ContinuousClock.Instant)?
    }
    private let state: Mutex<State>

    /// How much of the audit log is kept; applied every 10 minutes.
    let auditRetention: AuditRetention
    /// Told how many refused logins were counted but not itemised in the audit log (a flood).
    private let notItemisedObserver = Mutex<(@Sendable (Int) -> Void)?>(nil)

    /// Whether this is a running server that records the generation it applies
    /// (`berth_replicas`), for the CLI to wait on; a CLI's own directory is not.
    let announces: Bool

    public init(store: AccountStore, pollInterval: Duration = .seconds(1), staleAfter: Duration = .seconds(5),
                auditRetention: AuditRetention = AuditRetention(), announces: Bool = false, logger: Logger) async throws {
        self.store = store
        self.announces = announces
        self.auditRetention = auditRetention
        self.pollInterval = pollInterval
        self.staleAfter = staleAfter
        self.logger = logger
        state = Mutex(State(snapshot: try await store.snapshot(), verified: .now))
        // At once, not at the first poll: a CLI change made while this server starts must
        // wait for it too.
        if announces { try? await reportApplied() }
    }

    /// The policies to put in the token service's chain, robots first: a robot is limited to
    /// its own repositories whatever the other rules say.
    public var policies: [any AccessPolicy] { [RobotPolicy(directory: self), DatabaseRules(directory: self)] }

    /// The identity backend for personal access tokens, to put before every password backend:
    /// the token of an LDAP or static user is this database's, whoever holds the account.
    public var accessTokens: any IdentityBackend { AccessTokenIdentities(directory: self) }

    /// Reads the generation and reloads the snapshot if it moved. Changes made through this
    /// process call it right away, so they apply to the very next request. True when a newer
    /// snapshot was installed.
    @discardableResult
    public func refresh() async throws -> Bool {
        let generation = try await store.generation()
        var moved = false
        if generation != state.withLock({ $0.snapshot.generation }) {
            let snapshot = try await store.snapshot()
            // The poller and a request's check may reload at once; the slower one must not
            // put back a snapshot older than the one the faster installed.
            let installed = state.withLock { state in
                guard snapshot.generation > state.snapshot.generation else { return false }
                state.snapshot = snapshot
                return true
            }
            if installed { logger.debug("accounts reloaded", metadata: ["generation": .stringConvertible(snapshot.generation)]) }
            moved = installed
        }
        state.withLock {
            $0.verified = .now
            $0.failedAt = nil
        }
        return moved
    }

    /// Before refusing a login, whether the database changed since the snapshot was taken:
    /// another replica (or the CLI) may have just added the account, set its password or
    /// enabled it, and the next poll is up to `pollInterval` away. Refusals are bounded by
    /// the failed-login limiter, so this costs at most one generation read per refusal.
    func reloadedBeforeRefusing() async -> Bool {
        (try? await refresh()) ?? false
    }

    /// How long a request waits for a database across the network when the snapshot is stale.
    static let requestCheckLimit: Duration = .seconds(2)

    func current() async throws(AuthError) -> AccountSnapshot {
        enum Freshness { case fresh(AccountSnapshot), failing, check(Task<Void, any Error>) }
        let now = ContinuousClock.now
        let freshness = state.withLock { state -> Freshness in
            if now - state.verified <= staleAfter { return .fresh(state.snapshot) }
            if let failedAt = state.failedAt, now - failedAt < staleAfter { return .failing }
            if let check = state.check { return .check(check) }
            let check = Task { try await self.withDeadline(Self.requestCheckLimit) { try await self.refresh() } }
            state.check = check
            return .check(check)
        }
        switch freshness {
        case .fresh(let snapshot):
            return snapshot
        case .failing:
            throw unavailable
        case .check(let check):
            let result = await check.result
            state.withLock { state in
                if state.check == check { state.check = nil }
                if case .failure = result { state.failedAt = .now }
            }
            guard case .success = result else { throw unavailable }
            return snapshot
        }
    }

    /// `limit` applies to a database across a network only; see `answersOverNetwork`.
    private func withDeadline(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
        if store.answersOverNetwork { try await withTimeout(limit, body) } else { try await body() }
    }

    private var unavailable: AuthError {
        AuthError.unavailable("the accounts database (\(store.engine)) has not answered for \(staleAfter)")
    }

    public var snapshot: AccountSnapshot { state.withLock { $0.snapshot } }

    /// For the failed-login limiter: failures before this do not count, because an admin
    /// unlocked the account then, or its password or secret changed then (failures with the
    /// old one must not lock out the client that now has the new one).
    public var unlockedSince: @Sendable (String) -> Date? {
        { [weak self] account in
            self?.state.withLock { state -> Date? in
                let snapshot = state.snapshot
                let changed = snapshot.robot(account: account)?.credentialsValidSince ?? snapshot.users[account]?.credentialsValidSince
                return [snapshot.unlocks[account], changed].compactMap { $0 }.max()
            }
        }
    }

    // MARK: IdentityBackend

    public func authenticate(user: String, password: String) async throws -> Identity? {
        let snapshot = try await current()
        let identity: Identity?
        do {
            identity = try await authenticate(user: user, password: password, in: snapshot)
        } catch let refusal as AuthError {
            guard case .unavailable = refusal else {
                guard await reloadedBeforeRefusing() else { throw refusal }
                return try await authenticate(user: user, password: password, in: self.snapshot)
            }
            throw refusal
        }
        if identity == nil, await reloadedBeforeRefusing() {
            return try await authenticate(user: user, password: password, in: self.snapshot)
        }
        return identity
    }

    private func authenticate(user: String, password: String, in snapshot: AccountSnapshot) async throws -> Identity? {
        let now = Date()
        if let robot = snapshot.robot(account: user) {
            guard RobotSecret.matches(password, hash: robot.secretHash) else { throw AuthError.unauthorized("wrong secret") }
            guard robot.isActive(at: now) else { throw AuthError.inactive(robot.disabled ? "robot disabled" : "robot expired") }
            recorder.robotUsed(robot.name, at: now)
            return Identity(account: robot.account, labels: [:], validSince: robot.credentialsValidSince)
        }
        // robot$ names are this directory's: an unknown one is refused as a wrong secret
        // would be (as fast: a robot's secret is checked with SHA-256, not bcrypt).
        if user.hasPrefix(RobotRecord.accountPrefix) { throw AuthError.unauthorized("wrong secret") }
        guard let record = snapshot.users[user] else { return nil }
        guard let hash = record.passwordHash else {
            await DummyBcrypt.spend(password)
            throw AuthError.unauthorized("no password set")
        }
        // The password first: only a wrong one is a guess worth counting.
        guard try await bcrypt.verify(user: user, password: password, hash: hash) else {
            throw AuthError.unauthorized("wrong password")
        }
        if record.disabled { throw AuthError.inactive("account disabled") }
        if !record.isActive(at: now) { throw AuthError.inactive("account expired") }
        // The stored spelling: rules and the audit log know the account by it.
        return Identity(account: record.name, labels: record.labels, validSince: record.credentialsValidSince)
    }

    public func lookup(user: String) async throws -> Identity? {
        let snapshot = try await current()
        let identity: Identity?
        do {
            identity = try lookup(user: user, in: snapshot)
        } catch {
            guard await reloadedBeforeRefusing() else { throw error }
            return try lookup(user: user, in: self.snapshot)
        }
        if identity == nil, await reloadedBeforeRefusing() { return try lookup(user: user, in: self.snapshot) }
        return identity
    }

    private func lookup(user: String, in snapshot: AccountSnapshot) throws -> Identity? {
        let now = Date()
        if let robot = snapshot.robot(account: user) {
            guard robot.isActive(at: now) else { throw AuthError.unauthorized("robot disabled or expired") }
            return Identity(account: robot.account, labels: [:], validSince: robot.credentialsValidSince)
        }
        guard let record = snapshot.users[user] else { return nil }
        guard record.isActive(at: now) else { throw AuthError.unauthorized(record.disabled ? "account disabled" : "account expired") }
        return Identity(account: record.name, labels: record.labels, validSince: record.credentialsValidSince)
    }

    public func allowsAnonymous() async throws -> Bool {
        try await current().allowsAnonymous(at: Date())
    }

    /// Remembers a change to the registry's content (a manifest pushed or deleted) for the
    /// audit log, written with the next batch.
    public func recordContentChange(_ entry: AuditEntry) {
        recorder.record(entry)
    }

    /// Counts a pull of `repository` for today (written with the next batch).
    public func recordPull(_ repository: String) {
        recorder.pulled(repository)
    }

    /// Remembers a login for the audit log (written in the background, in batches).
    public func recordLogin(account: String, address: String?, success: Bool, reason: String?) async {
        recorder.login(account: account, address: address, success: success, reason: reason)
    }

    // MARK: Service

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.pollInterval)
                await self.tick()
            }
        }
        // Shutdown must not wait on a database that is gone: the last audit entries get a
        // few seconds, then the pool is closed anyway.
        await waitAtMost(.seconds(3)) { await self.flushAudit() }
        let store = self.store
        let replicaID = self.replicaID
        if announces { await waitAtMost(.seconds(3)) { try? await store.forgetReplica(replicaID) } }
        await waitAtMost(.seconds(3)) { await store.close() }
    }

    /// This server, in the store's list of running ones.
    let replicaID = UUID().uuidString.lowercased()

    func tick() async {
        do {
            try await withDeadline(staleAfter) { try await self.refresh() }
            try await reportApplied()
        } catch {
            state.withLock { $0.failedAt = .now }
            logger.warning("accounts database unreachable", metadata: ["error": .string("\(error)")])
        }
        await flushAudit()
        await purgeExpiredCredentials()
    }

    /// Tells the store which generation this server decides from: when it changed, else every
    /// 5 seconds (so the CLI knows it is running and waits for it after a change).
    func reportApplied() async throws {
        guard announces else { return }
        let generation = snapshot.generation
        let due = state.withLock { state -> Bool in
            guard let reported = state.reported else { return true }
            return reported.generation != generation || ContinuousClock.now - reported.at >= .seconds(5)
        }
        guard due else { return }
        try await store.reportApplied(replica: replicaID, generation: generation)
        state.withLock { $0.reported = (generation, .now) }
    }

    /// Expired refresh tokens and sessions are refused anyway; deleting them now and then
    /// keeps the table small. The audit log is pruned to its retention at the same time.
    func purgeExpiredCredentials() async {
        let due = state.withLock { state -> Bool in
            guard ContinuousClock.now - state.purgedAt >= .seconds(600) else { return false }
            state.purgedAt = .now
            return true
        }
        guard due else { return }
        do { try await store.purgeExpiredRefreshTokens() } catch {
            logger.warning("expired refresh tokens not purged", metadata: ["error": .string("\(error)")])
        }
        do { try await store.pruneAudit(auditRetention) } catch {
            logger.warning("audit log not pruned", metadata: ["error": .string("\(error)")])
        }
    }

    func flushAudit() async {
        let batch = recorder.drain()
        do {
            try await store.record(batch.entries, increments: batch.increments, robotsUsed: batch.robotsUsed, tokensUsed: batch.tokensUsed, pulls: batch.pulls)
        } catch {
            recorder.putBack(batch)
            logger.warning("audit entries not written yet", metadata: ["error": .string("\(error)"), "count": .stringConvertible(batch.entries.count)])
        }
        reportNotItemised()
    }

    private let reportedNotItemised = Atomic<Int>(0)

    /// A log line and the metric for refused logins only counted, not itemised.
    private func reportNotItemised() {
        let total = recorder.notItemised
        let reported = reportedNotItemised.exchange(total, ordering: .relaxed)
        guard total > reported else { return }
        logger.warning("refused logins counted but not itemised in the audit log (a flood of distinct ones)",
                       metadata: ["count": .stringConvertible(total - reported), "total": .stringConvertible(total)])
        notItemisedObserver.withLock { $0 }?(total - reported)
    }

    /// For the metrics: called with each new number of refused logins not itemised.
    public func observeAuditNotItemised(_ observer: @escaping @Sendable (Int) -> Void) {
        notItemisedObserver.withLock { $0 = observer }
    }
}

struct Timeout: Error, CustomStringConvertible {
    var description: String { "timed out" }
}

func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw Timeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Waits for `body` at most `limit`, then returns even if it is still running (it may be
/// stuck on a connection that will never come, and need not be awaited on the way out).
func waitAtMost(_ limit: Duration, _ body: @escaping @Sendable () async -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let once = ResumeOnce(continuation)
        Task {
            await body()
            once.resume()
        }
        Task {
            try? await Task.sleep(for: limit)
            once.resume()
        }
    }
}

/// A continuation resumed by whichever of two tasks comes first.
final class ResumeOnce: Sendable {
    private let continuation: Mutex<CheckedContinuation<Void, Never>?>

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = Mutex(continuation) }

    func resume() { continuation.withLock { $0.take() }?.resume() }
}

/// Decides for `robot$NAME` accounts only: the robot's actions on repositories matching its
/// patterns, nothing else (no fall-through to other rules).
struct RobotPolicy: AccessPolicy {
    let directory: AccountDirectory

    func decide(_ request: AccessRequest) async throws -> AccessDecision? {
        guard request.account.hasPrefix(RobotRecord.accountPrefix) else { return nil }
        let snapshot = try await directory.current()
        guard let robot = snapshot.robot(account: request.account) else { return nil }
        guard robot.isActive(at: Date()), request.type == "repository",
              let index = robot.repositories.firstIndex(where: { Pattern.matches($0, request.name) }) else {
            return AccessDecision(actions: [], policy: "robot", comment: "\(robot.account) is limited to \(robot.repositories.joined(separator: ", "))")
        }
        let actions = robot.actions.contains("*") ? request.actions.sorted() : Set(request.actions).intersection(robot.actions).sorted()
        return AccessDecision(actions: actions, policy: "robot", rule: index + 1, comment: robot.description)
    }
}

/// The database's ordered ACL rules, with expired rules skipped.
struct DatabaseRules: AccessPolicy {
    let directory: AccountDirectory

    func decide(_ request: AccessRequest) async throws -> AccessDecision? {
        try await directory.current().decision(request, at: Date())
    }
}
