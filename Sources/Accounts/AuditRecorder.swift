import Foundation

/// Logins waiting to be written to the audit log. A token request must not wait for a
/// database write, and docker sends credentials with every token request, so a successful
/// login of the same account from the same address is recorded once a minute; failures are
/// always recorded. At most `capacity` entries wait; beyond that new ones are counted as
/// dropped.
actor AuditRecorder {
    private var entries: [AuditEntry] = []
    private var robotsUsed: [String: Date] = [:]
    private var lastSuccess: [String: ContinuousClock.Instant] = [:]
    private(set) var dropped = 0
    let capacity = 10_000
    let successInterval: Duration = .seconds(60)

    func login(account: String, address: String?, success: Bool, reason: String?) {
        if success {
            let key = account + "\u{0}" + (address ?? "")
            if let last = lastSuccess[key], ContinuousClock.now - last < successInterval { return }
            if lastSuccess.count > 100_000 { lastSuccess.removeAll() }
            lastSuccess[key] = .now
        }
        append(AuditEntry(actor: account.isEmpty ? "(anonymous)" : String(account.prefix(256)), action: "login",
                          target: String(account.prefix(256)), address: address, success: success, detail: reason))
    }

    func robotUsed(_ name: String, at date: Date) {
        robotsUsed[name] = date
    }

    private func append(_ entry: AuditEntry) {
        guard entries.count < capacity else {
            dropped += 1
            return
        }
        entries.append(entry)
    }

    func drain() -> ([AuditEntry], [String: Date]) {
        defer {
            entries = []
            robotsUsed = [:]
        }
        return (entries, robotsUsed)
    }

    func putBack(_ entries: [AuditEntry], _ robots: [String: Date]) {
        for entry in entries { append(entry) }
        robotsUsed.merge(robots) { newer, _ in newer }
    }
}
