/// Runs one operation per key at a time: callers asking for a key already in flight wait for
/// that run's result instead of starting their own (one upstream request for 16 pulls).
actor SingleFlight<Value: Sendable> {
    private var running: [String: Task<Value, any Error>] = [:]

    func run(_ key: String, _ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if let task = running[key] { return try await task.value }
        // Unstructured on purpose: a caller that goes away must not cancel the others' result.
        let task = Task { try await operation() }
        running[key] = task
        defer { running[key] = nil }
        return try await task.value
    }
}
