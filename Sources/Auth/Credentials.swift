import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// Who a request authenticated as.
public struct Identity: Sendable, Equatable {
    public var account: String
    public var labels: [String: [String]]
    /// When the account was created or its credentials last changed (password, rotation,
    /// disable/enable, "sign out everywhere"): refresh tokens and web sessions issued under an
    /// earlier value are refused.
    public var validSince: Date?
    /// How the login was proven, when not by a password: the audit log records it
    /// ("workload token of https://token.actions.githubusercontent.com").
    public var provenance: String?
    /// Limits the credential carries (a scoped access token); nil: the account's full rights.
    public var scopes: [CredentialScope]?
    /// The credential proved who it is for, but another backend holds the account (an access
    /// token of a file or LDAP account): the token service asks that backend whether the
    /// account still exists and takes its labels as they are now.
    public var accountHeldElsewhere = false

    public init(account: String, labels: [String: [String]], validSince: Date? = nil, provenance: String? = nil,
                scopes: [CredentialScope]? = nil) {
        self.scopes = scopes
        self.account = account
        self.labels = labels
        self.validSince = validSince
        self.provenance = provenance
    }

    public static let anonymous = Identity(account: "", labels: [:])
}

/// A source of accounts: static users, htpasswd, a database, LDAP...
public protocol IdentityBackend: Sendable {
    /// `.some(identity)` when the password is right, `nil` when this backend does not know
    /// the user (the next backend is asked); throws `AuthError.unauthorized` for a wrong one.
    func authenticate(user: String, password: String) async throws -> Identity?
    /// The account as it is now, without a password: for refresh tokens, which are deleted
    /// when this answers nil (no such account) and refused while it throws
    /// `AuthError.unauthorized` (a disabled or expired account, which may come back).
    func lookup(user: String) async throws -> Identity?
    /// Whether requests without credentials are accepted (docker_auth's `"": {}` user).
    func allowsAnonymous() async throws -> Bool
    /// False for a backend that cannot be asked about an account without its password (an
    /// external program, an LDAP directory bound as the user): its `lookup` nil means "cannot
    /// tell", not "no such account".
    var answersLookups: Bool { get }
}

extension IdentityBackend {
    public func allowsAnonymous() async throws -> Bool { false }
    public var answersLookups: Bool { true }
}

extension Array where Element == any IdentityBackend {
    /// docker_auth's chain: backends are asked in order until one knows the account; its
    /// answer (identity, or a thrown refusal) decides. nil: no backend knows it.
    public func authenticate(user: String, password: String) async throws -> Identity? {
        for backend in self {
            if let identity = try await backend.authenticate(user: user, password: password) { return identity }
        }
        // As long as a wrong password for a real account takes, so timing tells no names.
        await DummyBcrypt.spend(password)
        return nil
    }
}

/// A bcrypt check against a hash nobody knows the password of, spent where an account is
/// refused without one (unknown name, no password set), so that answer takes as long as a
/// wrong password does and timing cannot enumerate accounts.
public enum DummyBcrypt {
    /// Cost 10, as Berth's own hashes; made once, on first use, on the thread pool.
    static let hash: String = {
        var generator = SystemRandomNumberGenerator()
        return PasswordHash.make(String((0..<32).map { _ in Character(UnicodeScalar(UInt8.random(in: 97...122, using: &generator))) }), cost: 10)
    }()

    public static func spend(_ password: String) async {
        _ = try? await NIOThreadPool.singleton.runIfActive { BcryptCheck.verify(password, hash: hash) }
    }
}

public enum BcryptCheck {
    /// bcrypt with `$2y$` (htpasswd -B) accepted: it is the same algorithm as `$2b$`.
    public static func verify(_ password: String, hash: String) -> Bool {
        let normalized = hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
        guard normalized.hasPrefix("$2a$") || normalized.hasPrefix("$2b$"), password.utf8.count <= 72 * 4 else { return false }
        return Bcrypt.verify(password, hash: normalized)
    }
}

/// Remembers successful bcrypt checks for a short time, keyed by a hash of user, stored
/// hash and password, so repeated token requests (docker sends credentials on every one)
/// cost a SHA-256 instead of a bcrypt. No password is kept; failures are never cached.
/// Identical checks arriving together share one bcrypt: a CI fleet starting at once, or the
/// first burst after a restart, costs one check, not one per connection.
final class VerifiedCredentialCache: Sendable {
    private struct State {
        var verified: [SHA256Digest: ContinuousClock.Instant] = [:]
        var checking: [SHA256Digest: Task<Bool, any Error>] = [:]
    }

    private let state = Mutex(State())
    private let lifetime: Duration
    static let capacity = 100_000

    init(lifetime: Duration = .seconds(300)) { self.lifetime = lifetime }

    static func key(_ user: String, _ hash: String, _ password: String) -> SHA256Digest {
        var h = SHA256()
        for part in [user, hash, password] {
            h.update(data: Array(part.utf8))
            h.update(data: [0])
        }
        return h.finalize()
    }

    /// True when `key` was verified lately; otherwise runs `check`, or joins the run of it
    /// already under way, and remembers a success.
    func verify(_ key: SHA256Digest, check: @escaping @Sendable () async throws -> Bool) async throws -> Bool {
        let running: Task<Bool, any Error>? = state.withLock { state in
            if let expires = state.verified[key] {
                if expires > .now { return nil }
                state.verified.removeValue(forKey: key)
            }
            if let running = state.checking[key] { return running }
            let task = Task { try await check() }
            state.checking[key] = task
            return task
        }
        guard let running else { return true }
        let result = await running.result
        state.withLock { state in
            if state.checking[key] == running { state.checking.removeValue(forKey: key) }
            if case .success(true) = result {
                if state.verified.count >= Self.capacity { state.verified.removeAll() }
                state.verified[key] = .now + lifetime
            }
        }
        return try result.get()
    }
}

/// A bcrypt check run on the thread pool (never on the event loop), remembered for a short
/// while when it succeeds.
public struct CachedBcryptCheck: Sendable {
    let cache = VerifiedCredentialCache()

    public init() {}

    public func verify(user: String, password: String, hash: String) async throws -> Bool {
        try await cache.verify(VerifiedCredentialCache.key(user, hash, password)) {
            try await NIOThreadPool.singleton.runIfActive { BcryptCheck.verify(password, hash: hash) }
        }
    }
}

/// The `users` map of docker_auth: bcrypt passwords and labels; `""` enables anonymous.
public struct StaticUsers: IdentityBackend {
    let users: [String: AuthConfiguration.User]
    let bcrypt = CachedBcryptCheck()

    public init(_ users: [String: AuthConfiguration.User]) {
        self.users = users
    }

    public func allowsAnonymous() async throws -> Bool { users[""] != nil }

    public func lookup(user: String) async throws -> Identity? {
        guard !user.isEmpty, let entry = users[user] else { return nil }
        return Identity(account: user, labels: entry.labels ?? [:])
    }

    public func authenticate(user: String, password: String) async throws -> Identity? {
        guard let entry = users[user] else { return nil }
        let labels = entry.labels ?? [:]
        if user.isEmpty { return Identity(account: "", labels: labels) }
        guard let hash = entry.password else {
            await DummyBcrypt.spend(password)
            throw AuthError.unauthorized("no password set")
        }
        guard try await bcrypt.verify(user: user, password: password, hash: hash) else {
            throw AuthError.unauthorized("wrong password")
        }
        return Identity(account: user, labels: labels)
    }
}

public enum PasswordHash {
    /// Whether `hash` is a bcrypt hash Berth can check.
    public static func isBcrypt(_ hash: String) -> Bool {
        ["$2a$", "$2b$", "$2y$"].contains(String(hash.prefix(4))) && hash.utf8.count == 60
    }

    /// `make` on the thread pool: for servers, whose event loops must not spend 50 ms hashing.
    public static func makeOffLoop(_ password: String, cost: UInt8 = 10) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { make(password, cost: cost) }
    }

    /// A bcrypt hash in the `$2y$` form htpasswd -B writes (the same algorithm as `$2b$`).
    public static func make(_ password: String, cost: UInt8 = 10) -> String {
        let hash = Bcrypt.hash(password, cost: cost)
        return hash.hasPrefix("$2b$") ? "$2y$" + hash.dropFirst(4) : hash
    }
}
