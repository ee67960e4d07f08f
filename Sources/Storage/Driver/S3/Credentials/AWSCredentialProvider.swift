import Foundation
import Synchronization

/// Where the S3 driver's keys come from. Asked before every request, so that sources of
/// temporary credentials (an instance role, a container's task role, a web identity) are
/// renewed before they expire; fixed keys are their own provider.
public protocol AWSCredentialProvider: Sendable, CustomStringConvertible {
    func credentials() async throws -> AWSCredentials
}

extension AWSCredentials: AWSCredentialProvider {
    public func credentials() async throws -> AWSCredentials { self }
}

/// Credentials that stop working at `expiration` (nil: never).
public struct ExpiringCredentials: Sendable {
    public var credentials: AWSCredentials
    public var expiration: Date?

    public init(_ credentials: AWSCredentials, expiration: Date?) {
        self.credentials = credentials
        self.expiration = expiration
    }

    func isValid(at date: Date, margin: TimeInterval = 0) -> Bool {
        expiration.map { $0.timeIntervalSince(date) > margin } ?? true
    }
}

/// Temporary credentials fetched from a source and fetched again `refreshMargin` before
/// they expire (one fetch shared by concurrent requests). While the source cannot be
/// reached, credentials that have not yet expired keep being used; a failed fetch is not
/// repeated for `retryAfter`, so an unreachable source is not asked on every request.
public final class RefreshingCredentialProvider: AWSCredentialProvider {
    public let description: String
    private let fetch: @Sendable () async throws -> ExpiringCredentials
    let refreshMargin: TimeInterval
    let retryAfter: TimeInterval

    private struct State {
        var current: ExpiringCredentials?
        var fetching: Task<ExpiringCredentials, any Error>?
        var failure: (at: Date, error: String)?
    }
    private let state = Mutex(State())

    public init(_ description: String, refreshMargin: TimeInterval = 300, retryAfter: TimeInterval = 5,
                fetch: @escaping @Sendable () async throws -> ExpiringCredentials) {
        self.description = description
        self.refreshMargin = refreshMargin
        self.retryAfter = retryAfter
        self.fetch = fetch
    }

    public func credentials() async throws -> AWSCredentials {
        enum Next { case use(AWSCredentials), wait(Task<ExpiringCredentials, any Error>, ExpiringCredentials?), fail(String) }
        let now = Date()
        let next = state.withLock { state -> Next in
            if let current = state.current, current.isValid(at: now, margin: refreshMargin) { return .use(current.credentials) }
            if let failure = state.failure, now.timeIntervalSince(failure.at) < retryAfter {
                if let current = state.current, current.isValid(at: now) { return .use(current.credentials) }
                return .fail(failure.error)
            }
            if state.fetching == nil {
                let fetch = self.fetch
                state.fetching = Task { try await fetch() }
            }
            return .wait(state.fetching!, state.current)
        }
        switch next {
        case .use(let credentials):
            return credentials
        case .fail(let error):
            throw StorageError.unavailable("S3 credentials from \(description): \(error)")
        case .wait(let task, let current):
            do {
                let fresh = try await task.value
                state.withLock { state in
                    if state.fetching == task { state.fetching = nil }
                    state.current = fresh
                    state.failure = nil
                }
                return fresh.credentials
            } catch {
                let message = "\(error)"
                state.withLock { state in
                    if state.fetching == task { state.fetching = nil }
                    state.failure = (Date(), message)
                }
                if let current, current.isValid(at: Date()) { return current.credentials }
                throw StorageError.unavailable("S3 credentials from \(description): \(message)")
            }
        }
    }
}
