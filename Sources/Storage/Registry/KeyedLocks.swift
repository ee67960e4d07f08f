/// One holder at a time per key in this process: requests on one upload session (a client
/// retrying a final PUT meets a finished session, not another's half-written chunk), tag
/// changes of one repository under a policy (two pushes racing to an immutable tag). A
/// holder waits at most `patience` for the one ahead (a stalled client may hold it), then
/// goes on and lets the storage's own exclusion answer, as without this lock. Replicas are
/// kept apart by the storage's locks, not by this.
public actor KeyedLocks {
    private var waiting: [String: [(ticket: UInt64, resume: CheckedContinuation<Bool, Never>)]] = [:]
    private var nextTicket: UInt64 = 0
    let patience: Duration

    public init(patience: Duration = .seconds(30)) { self.patience = patience }

    public func withLock<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        let held = await acquire(key)
        do {
            let result = try await body()
            if held { release(key) }
            return result
        } catch {
            if held { release(key) }
            throw error
        }
    }

    /// False when it gave up waiting (the lock is then not held by this request).
    private func acquire(_ key: String) async -> Bool {
        guard waiting[key] != nil else {
            waiting[key] = []
            return true
        }
        let ticket = nextTicket
        nextTicket += 1
        let patience = self.patience
        Task { [weak self] in
            try? await Task.sleep(for: patience)
            await self?.giveUp(key, ticket)
        }
        return await withCheckedContinuation { waiting[key]!.append((ticket, $0)) }
    }

    private func giveUp(_ key: String, _ ticket: UInt64) {
        guard let index = waiting[key]?.firstIndex(where: { $0.ticket == ticket }) else { return }
        waiting[key]!.remove(at: index).resume.resume(returning: false)
    }

    private func release(_ key: String) {
        guard var queue = waiting[key] else { return }
        if queue.isEmpty {
            waiting[key] = nil
        } else {
            let next = queue.removeFirst()
            waiting[key] = queue
            next.resume.resume(returning: true)
        }
    }
}
