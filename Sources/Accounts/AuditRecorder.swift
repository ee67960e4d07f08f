import Foundation
import Synchronization

/// Logins waiting to be written to the audit log. A token request must not wait for a
/// database write (nor hop to an actor: this is on every token request), and docker sends
/// credentials with every token request, so a successful login of the same account from the
/// same address is recorded once a minute; failures are always recorded. At most `capacity`
/// entries wait; beyond that new ones are counted as dropped.
final class AuditRecorder: Sendable {
    private struct State {
        var entries: [AuditEntry] = []
        var robotsUsed: [String: Date] = [:]
        var lastSuccess: [String: ContinuousClock.Instant] = [:]
        var dropped = 0

        mutating func append(_ entry: AuditEntry, capacity: Int) {
            guard entries.count < capacity else {
                dropped += 1
                return
            }
            entries.append(entry)
        }
    }

    private let state = Mutex(State())
    let capacity = 10_000
    let successInterval: Duration = .seconds(60)

    var dropped: Int { state.withLock { $0.dropped } }

    func login(account: String, address: String?, success: Bool, reason: String?) {
        let now = ContinuousClock.now
        state.withLock { state in
            if success {
                let key = account + "\u{0}" + (address ?? "")
                if let last = state.lastSuccess[key], now - last < successInterval { return }
                if state.lastSuccess.count > 100_000 { state.lastSuccess.removeAll() }
                state.lastSuccess[key] = now
            }
            state.append(AuditEntry(actor: account.isEmpty ? "(anonymous)" : String(account.prefix(256)), action: "login",
                                    target: String(account.prefix(256)), address: address, success: success, detail: reason),
                         capacity: capacity)
        }
    }

    func robotUsed(_ name: String, at date: Date) {
        state.withLock { $0.robotsUsed[name] = date }
    }

    func drain() -> ([AuditEntry], [String: Date]) {
        state.withLock { state in
            defer {
                state.entries = []
                state.robotsUsed = [:]
            }
            return (state.entries, state.robotsUsed)
        }
    }

    func putBack(_ entries: [AuditEntry], _ robots: [String: Date]) {
        state.withLock { state in
            for entry in entries { state.append(entry, capacity: capacity) }
            state.robotsUsed.merge(robots) { newer, _ in newer }
        }
    }
}
