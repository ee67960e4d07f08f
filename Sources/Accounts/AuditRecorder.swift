import Foundation
import Synchronization

/// Logins waiting to be written to the audit log. A token request must not wait for a
/// database write (nor hop to an actor: this is on every token request).
///
/// - A successful login is never dropped; docker sends credentials with every token
///   request, so the same account from the same address with the same proof (password, a
///   named access token, a workload token) is recorded once a minute.
/// - Refused logins (throttled ones included) are aggregated per account, address, reason
///   and minute: one row whose count grows, so a flood cannot grow the log without bound.
///   At most `refusalCapacity` distinct ones a minute are itemised; beyond that they are
///   only counted, in one row per minute and in `notItemised` (a metric and a log line).
/// - A batch the database did not take is kept and written with the next one.
final class AuditRecorder: Sendable {
    /// A login already recorded within `successInterval` (every token request is a login).
    struct SuccessKey: Hashable {
        var account: String
        var address: String?
        var reason: String?
    }

    struct RefusalKey: Hashable {
        var account: String
        var address: String?
        var reason: String?
        var minute: Int64
    }

    struct Refusal {
        var entry: AuditEntry
        /// Whether its row exists: later counts are added to it.
        var written = false
        /// Counted since the last batch.
        var pending: Int
    }

    /// What one write takes: new rows, counts to add to existing refusal rows, robots' last use.
    struct Batch {
        var entries: [AuditEntry] = []
        var increments: [String: Int] = [:]
        var robotsUsed: [String: Date] = [:]
        /// Access tokens' last use, by id.
        var tokensUsed: [String: Date] = [:]
        /// Pulls counted per repository and day (UTC, `YYYY-MM-DD`).
        var pulls: [PullDay: Int] = [:]

        mutating func merge(_ other: Batch) {
            entries += other.entries
            increments.merge(other.increments, uniquingKeysWith: +)
            pulls.merge(other.pulls, uniquingKeysWith: +)
            robotsUsed.merge(other.robotsUsed) { $0 > $1 ? $0 : $1 }
            tokensUsed.merge(other.tokensUsed) { $0 > $1 ? $0 : $1 }
        }
    }

    private struct State {
        var successes: [AuditEntry] = []
        var refusals: [RefusalKey: Refusal] = [:]
        var robotsUsed: [String: Date] = [:]
        var tokensUsed: [String: Date] = [:]
        var pulls: [PullDay: Int] = [:]
        var lastSuccess: [SuccessKey: ContinuousClock.Instant] = [:]
        var unwritten = Batch()
        var notItemised = 0
    }

    private let state = Mutex(State())
    let refusalCapacity: Int
    let successInterval: Duration = .seconds(60)
    static let notItemisedAccount = "(many)"

    init(refusalCapacity: Int = 10_000) { self.refusalCapacity = refusalCapacity }

    /// Refused logins counted but not itemised since start.
    var notItemised: Int { state.withLock { $0.notItemised } }

    /// A change to the registry's content (a push, a delete): always written.
    func record(_ entry: AuditEntry) {
        state.withLock { $0.successes.append(entry) }
    }

    func login(account: String, address: String?, success: Bool, reason: String?, at date: Date = Date()) {
        let now = ContinuousClock.now
        let account = String(account.prefix(256))
        state.withLock { state in
            if success {
                let key = SuccessKey(account: account, address: address, reason: reason)
                if let last = state.lastSuccess[key], now - last < successInterval { return }
                if state.lastSuccess.count > 100_000 {
                    state.lastSuccess = state.lastSuccess.filter { now - $0.value < successInterval }
                }
                state.lastSuccess[key] = now
                // A success's reason is how it was proven (a workload token's issuer), when not a password.
                state.successes.append(AuditEntry(actor: account.isEmpty ? "(anonymous)" : account, action: "login", target: account,
                                                  address: address, success: true, detail: reason, at: date))
                return
            }
            let minute = Int64(date.timeIntervalSince1970 / 60)
            var key = RefusalKey(account: account, address: address, reason: reason, minute: minute)
            if state.refusals[key] == nil, state.refusals.count >= refusalCapacity {
                state.notItemised += 1
                key = RefusalKey(account: Self.notItemisedAccount, address: nil, reason: "refused logins beyond \(refusalCapacity) distinct a minute, not itemised",
                                 minute: minute)
            }
            if state.refusals[key] != nil {
                state.refusals[key]!.pending += 1
            } else {
                state.refusals[key] = Refusal(entry: AuditEntry(actor: key.account.isEmpty ? "(anonymous)" : key.account, action: "login",
                                                                target: key.account, address: key.address, success: false,
                                                                detail: key.reason, at: date),
                                              pending: 1)
            }
        }
    }

    /// A pull is only counted, per repository and day: itemised, pulls would swamp the log.
    func pulled(_ repository: String, at date: Date = Date()) {
        let key = PullDay(repository: String(repository.prefix(256)), day: PullDay.day(date))
        state.withLock { $0.pulls[key, default: 0] += 1 }
    }

    func robotUsed(_ name: String, at date: Date) {
        state.withLock { $0.robotsUsed[name] = date }
    }

    func accessTokenUsed(_ id: String, at date: Date) {
        state.withLock { $0.tokensUsed[id] = date }
    }

    /// Everything to write now; refusals of minutes that are over are forgotten once written.
    func drain(now: Date = Date()) -> Batch {
        let minute = Int64(now.timeIntervalSince1970 / 60)
        return state.withLock { state in
            var batch = state.unwritten
            state.unwritten = Batch()
            batch.entries += state.successes
            state.successes = []
            for (key, var refusal) in state.refusals {
                if refusal.pending > 0 {
                    if refusal.written {
                        batch.increments[refusal.entry.id, default: 0] += refusal.pending
                    } else {
                        var entry = refusal.entry
                        entry.count = refusal.pending
                        batch.entries.append(entry)
                        refusal.written = true
                    }
                    refusal.pending = 0
                }
                if key.minute < minute { state.refusals.removeValue(forKey: key) } else { state.refusals[key] = refusal }
            }
            batch.robotsUsed.merge(state.robotsUsed) { $0 > $1 ? $0 : $1 }
            state.robotsUsed = [:]
            batch.tokensUsed.merge(state.tokensUsed) { $0 > $1 ? $0 : $1 }
            state.tokensUsed = [:]
            batch.pulls.merge(state.pulls, uniquingKeysWith: +)
            state.pulls = [:]
            batch.entries.sort { $0.at < $1.at }
            return batch
        }
    }

    /// A batch the database refused, written with the next one. While the database stays
    /// down, refusals beyond `unwrittenLimit` waiting rows are only counted; successes and
    /// robots' use are kept whatever it costs.
    func putBack(_ batch: Batch) {
        state.withLock { state in
            state.unwritten.merge(batch)
            var excess = state.unwritten.entries.count - Self.unwrittenLimit
            guard excess > 0 else { return }
            state.unwritten.entries.removeAll { entry in
                guard excess > 0, !entry.success else { return false }
                excess -= 1
                state.notItemised += entry.count ?? 1
                return true
            }
        }
    }

    static let unwrittenLimit = 100_000
}
