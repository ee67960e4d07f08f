import Foundation
import Synchronization

/// Slows password guessing: too many failed logins for one account, or from one client
/// address, within `window` refuse further attempts (429) until the window has passed.
/// Only failures count; nothing about a password is kept. A mutex, not an actor: every
/// token request asks it, and must not hop executors for that.
public final class FailedLoginLimiter: Sendable {
    public struct Limits: Sendable {
        public var perAccount: Int
        public var perAddress: Int
        public var window: Duration

        public init(perAccount: Int = 30, perAddress: Int = 20, window: Duration = .seconds(300)) {
            self.perAccount = perAccount
            self.perAddress = perAddress
            self.window = window
        }
    }

    private let limits: Limits
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])

    public init(limits: Limits = .init()) { self.limits = limits }

    private static func recent(_ key: String, in failures: inout [String: [ContinuousClock.Instant]], cutoff: ContinuousClock.Instant) -> Int {
        guard let times = failures[key] else { return 0 }
        let kept = times.filter { $0 > cutoff }
        failures[key] = kept.isEmpty ? nil : kept
        return kept.count
    }

    public func isBlocked(account: String, address: IPAddress?) -> Bool {
        let cutoff = ContinuousClock.now - limits.window
        return failures.withLock { failures in
            // Nothing failed lately: the common case costs no key building.
            if failures.isEmpty { return false }
            if Self.recent("account:" + account, in: &failures, cutoff: cutoff) >= limits.perAccount { return true }
            if let address, Self.recent("address:\(address)", in: &failures, cutoff: cutoff) >= limits.perAddress { return true }
            return false
        }
    }

    public func recordFailure(account: String, address: IPAddress?) {
        let now = ContinuousClock.now
        failures.withLock { failures in
            if failures.count > 100_000 { failures.removeAll() }
            failures["account:" + account, default: []].append(now)
            if let address { failures["address:\(address)", default: []].append(now) }
        }
    }
}

extension FailedLoginLimiter {
    /// Runs one password check for `account` unless it, or `address`, is blocked (then
    /// `AuthError.tooManyRequests`). A check that returns nil or throws `.unauthorized` counts
    /// as a failure; any other error (a backend that is down) does not, so an outage never
    /// locks anyone out.
    public func attempt<Identity: Sendable>(
        account: String, address: IPAddress?, _ check: @Sendable () async throws -> Identity?
    ) async throws -> Identity? {
        if isBlocked(account: account, address: address) { throw AuthError.tooManyRequests }
        do {
            if let identity = try await check() { return identity }
        } catch let error as AuthError {
            if case .unauthorized = error { recordFailure(account: account, address: address) }
            throw error
        }
        recordFailure(account: account, address: address)
        return nil
    }
}
