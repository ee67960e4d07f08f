/// One request at a time per upload session in this process: a client retrying a final PUT,
/// or several racing to finish one upload, meet a finished (gone) session, not each other's
/// half-written chunk (which the storage refuses as a range error, for a range nobody sent).
/// A request waits at most `patience` for the one ahead (a stalled client may hold it), then
/// goes on and lets the storage's own exclusion answer, as without this lock. Replicas are
/// kept apart by the storage's locks.
actor UploadLocks {
    private var waiting: [String: [(ticket: UInt64, resume: CheckedContinuation<Bool, Never>)]] = [:]
    private var nextTicket: UInt64 = 0
    let patience: Duration

    init(patience: Duration = .seconds(30)) { self.patience = patience }

    func withLock<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
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
