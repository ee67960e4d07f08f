import Crypto
import Foundation
import Synchronization

/// Slows password guessing without letting anyone lock others out.
///
/// - A client (an account from one address) that fails `perClient` times within `window`
///   is refused for that account until its oldest counted failure leaves the window: one CI
///   job with a stale password stops itself, nobody else.
/// - An address that fails `perAddress` times across accounts (spraying) is refused for all
///   of them; set well above `perClient`, so a single stale client never reaches it.
/// - An account that failed `perAccount` times from anywhere is under attack: addresses with
///   a failure of their own for it are refused, an address with a clean record may still
///   try. Strangers' failures slow guesses at an account, never refuse its correct password.
///
/// A failure repeating a wrong password already counted for the same key (a stale client
/// retrying, a fleet of CI runners with one old secret) is not counted again: only guesses
/// are. Spraying one password over many accounts still counts once per account. Wrong
/// passwords are remembered only as 8 bytes of a keyed hash whose key is this process's own.
/// IPv6 addresses count per /64 (what one host usually holds). Memory is bounded by
/// `capacity` counters: past it, expired counters go first, then those with the fewest and
/// oldest failures, the clients of a locked account last, and never an account's own counter
/// while it is locked, so a flood of junk logins cannot buy an amnesty. `unlockedSince` (an admin's `berth user unlock`) discards an
/// account's earlier failures. A mutex, not an actor: every token request asks it.
public final class FailedLoginLimiter: Sendable {
    public struct Limits: Sendable, Equatable {
        public var perClient: Int
        public var perAddress: Int
        public var perAccount: Int
        public var window: Duration
        public var capacity: Int

        public init(perClient: Int = 10, perAddress: Int = 100, perAccount: Int = 30, window: Duration = .seconds(300),
                    capacity: Int = 100_000) {
            self.perClient = perClient
            self.perAddress = perAddress
            self.perAccount = perAccount
            self.window = window
            self.capacity = capacity
        }
    }

    enum Key: Hashable {
        case client(account: String, address: [UInt8])
        case address([UInt8])
        case account(String)
    }

    /// The most recent failures, oldest first, at most as many as its limit needs, each with
    /// the fingerprint of the wrong password it was.
    struct Counter {
        var times: [Date] = []
        var fingerprints: [UInt64] = []
    }

    public let limits: Limits
    /// When an admin last cleared the account's failures.
    let unlockedSince: @Sendable (String) -> Date?
    private let counters = Mutex<[Key: Counter]>([:])
    private let evictions = Atomic<Int>(0)
    private let fingerprintKey = SymmetricKey(size: .bits256)

    /// What identifies one wrong password for one account, without keeping it.
    func fingerprint(account: String, password: String) -> UInt64 {
        let mac = HMAC<SHA256>.authenticationCode(for: Array((account + "\u{0}" + password).utf8), using: fingerprintKey)
        return mac.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    public init(limits: Limits = .init(), unlockedSince: @escaping @Sendable (String) -> Date? = { _ in nil }) {
        self.limits = limits
        self.unlockedSince = unlockedSince
    }

    /// The address as it is counted: IPv6 by its /64.
    static func addressKey(_ address: IPAddress) -> [UInt8] {
        address.bytes.count == 16 ? Array(address.bytes.prefix(8)) : address.bytes
    }

    private func limit(_ key: Key) -> Int {
        switch key {
        case .client: limits.perClient
        case .address: limits.perAddress
        case .account: limits.perAccount
        }
    }

    private func account(of key: Key) -> String? {
        switch key {
        case .client(let account, _), .account(let account): account
        case .address: nil
        }
    }

    /// The failures of `key` that count now, oldest first.
    private func recent(_ key: Key, _ counters: [Key: Counter], now: Date) -> ArraySlice<Date> {
        guard let times = counters[key]?.times else { return [] }
        var cutoff = now.addingTimeInterval(-limits.window.seconds)
        if let account = account(of: key), let unlocked = unlockedSince(account), unlocked > cutoff { cutoff = unlocked }
        guard let first = times.firstIndex(where: { $0 > cutoff }) else { return [] }
        return times[first...]
    }

    /// nil when `account` may try from `address`; else how long until it may.
    public func retryAfter(account: String, address: IPAddress?, now: Date = Date()) -> Duration? {
        counters.withLock { counters -> Duration? in
            // Nothing failed lately: the common case costs no key building.
            if counters.isEmpty { return nil }
            func blocked(_ key: Key, at limit: Int) -> Date? {
                let times = recent(key, counters, now: now)
                guard times.count >= limit, limit > 0 else { return nil }
                // Free again when the oldest of the last `limit` failures leaves the window.
                return times[times.endIndex - limit].addingTimeInterval(limits.window.seconds)
            }
            var until: Date?
            if let address {
                let host = Self.addressKey(address)
                let client = Key.client(account: account, address: host)
                until = blocked(client, at: limits.perClient) ?? blocked(.address(host), at: limits.perAddress)
                if until == nil, !recent(client, counters, now: now).isEmpty {
                    until = blocked(.account(account), at: limits.perAccount)
                }
            } else {
                until = blocked(.account(account), at: limits.perAccount)
            }
            return until.map { .seconds(max(1, Int($0.timeIntervalSince(now).rounded(.up)))) }
        }
    }

    public func isBlocked(account: String, address: IPAddress?) -> Bool {
        retryAfter(account: account, address: address) != nil
    }

    /// `password`: the wrong password, to tell a repeat from a new guess (nil: always a new one).
    public func recordFailure(account: String, address: IPAddress?, password: String? = nil, now: Date = Date()) {
        var keys = [Key.account(account)]
        if let address {
            let host = Self.addressKey(address)
            keys += [.client(account: account, address: host), .address(host)]
        }
        let print = password.map { fingerprint(account: account, password: $0) }
        counters.withLock { counters in
            for key in keys {
                var counter = counters[key] ?? Counter()
                if let print {
                    let recent = self.recent(key, counters, now: now)
                    let offset = counter.times.count - recent.count
                    if counter.fingerprints.dropFirst(offset).contains(print) { continue }
                }
                counter.times.append(now)
                counter.fingerprints.append(print ?? UInt64.random(in: .min ... .max))
                let keep = limit(key)
                if counter.times.count > keep {
                    counter.times.removeFirst(counter.times.count - keep)
                    counter.fingerprints.removeFirst(counter.fingerprints.count - keep)
                }
                counters[key] = counter
            }
            if counters.count > limits.capacity { evict(&counters, now: now) }
        }
    }

    /// Counters dropped to stay within `capacity` since start (a flood, for the metric/log).
    public var evicted: Int { evictions.load(ordering: .relaxed) }

    public var count: Int { counters.withLock { $0.count } }

    /// Down to nine tenths of `capacity`: expired counters, then the least and oldest
    /// failures first; a locked account's counter stays whatever it costs.
    private func evict(_ counters: inout [Key: Counter], now: Date) {
        let cutoff = now.addingTimeInterval(-limits.window.seconds)
        var dropped = 0
        for (key, counter) in counters where (counter.times.last ?? .distantPast) <= cutoff {
            counters.removeValue(forKey: key)
            dropped += 1
        }
        let target = limits.capacity * 9 / 10
        if counters.count > target {
            var locked = Set<String>()
            for key in counters.keys {
                if case .account(let account) = key, recent(key, counters, now: now).count >= limits.perAccount { locked.insert(account) }
            }
            // The clients of a locked account go after everything else: they are what keeps
            // its guessers from another try.
            let candidates = counters.compactMap { key, counter -> (key: Key, protected: Bool, count: Int, last: Date)? in
                switch key {
                case .account(let account) where locked.contains(account): return nil
                case .client(let account, _): return (key, locked.contains(account), counter.times.count, counter.times.last ?? .distantPast)
                default: return (key, false, counter.times.count, counter.times.last ?? .distantPast)
                }
            }.sorted { a, b in
                if a.protected != b.protected { return !a.protected }
                return a.count != b.count ? a.count < b.count : a.last < b.last
            }
            for candidate in candidates.prefix(counters.count - target) {
                counters.removeValue(forKey: candidate.key)
                dropped += 1
            }
        }
        evictions.add(dropped, ordering: .relaxed)
    }
}

extension Duration {
    var seconds: TimeInterval {
        let (s, attoseconds) = components
        return TimeInterval(s) + TimeInterval(attoseconds) / 1e18
    }
}

extension FailedLoginLimiter {
    /// Runs one password check for `account` unless it is refused from `address` (then
    /// `AuthError.tooManyRequests` with the time to wait). A check that returns nil or throws
    /// `.unauthorized` counts as a failure; any other error (a backend that is down) does not,
    /// so an outage never locks anyone out.
    public func attempt<Identity: Sendable>(
        account: String, address: IPAddress?, password: String? = nil, _ check: @Sendable () async throws -> Identity?
    ) async throws -> Identity? {
        if let wait = retryAfter(account: account, address: address) {
            throw AuthError.tooManyRequests(retryAfter: Int(wait.components.seconds))
        }
        do {
            if let identity = try await check() { return identity }
        } catch let error as AuthError {
            if case .unauthorized = error { recordFailure(account: account, address: address, password: password) }
            throw error
        }
        recordFailure(account: account, address: address, password: password)
        return nil
    }
}
