import Accounts
import ArgumentParser
import Auth
import Client
import Config
import Foundation
import Logging
import Assembly

/// Where the account commands find the accounts: the database of `berth serve --config FILE`
/// (`auth.token.accounts`, else SQLite under its storage root), or of a zero-configuration
/// Berth whose data directory is `--data` (default `./data`), or a database URL.
struct AccountsOptions: ParsableArguments {
    @Option(help: "The registry's config.yml (its accounts database).")
    var config: String?

    @Option(help: "The data directory of a `berth serve` without configuration.")
    var data: String?

    @Option(help: "The accounts database itself: sqlite:PATH or postgres://USER@HOST:PORT/DB.")
    var accounts: String?

    @Option(help: "A running Berth (http://HOST:PORT): changes go through its admin API with BERTH_USERNAME/BERTH_PASSWORD or the credentials saved by docker login.")
    var registry: String?

    func validate() throws {
        guard [config, data, accounts, registry].compactMap({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --config, --data, --accounts and --registry")
        }
    }

    /// The admin API of `--registry`, if given.
    func remote() throws -> RemoteAccounts? {
        guard let registry else { return nil }
        let environment = ProcessInfo.processInfo.environment
        if let username = environment["BERTH_USERNAME"], let password = environment["BERTH_PASSWORD"] {
            return RemoteAccounts(registry: registry, username: username, password: password)
        }
        let host = URLComponents(string: registry.contains("://") ? registry : "http://" + registry)?.host.map { host in
            URLComponents(string: registry.contains("://") ? registry : "http://" + registry)?.port.map { "\(host):\($0)" } ?? host
        } ?? registry
        guard case .basic(let username, let password)? = try CredentialStore.standard().credentials(for: host) else {
            throw CLIFailure("--registry needs admin credentials: set BERTH_USERNAME and BERTH_PASSWORD (an identity token saved by docker login cannot be used here)")
        }
        return RemoteAccounts(registry: registry, username: username, password: password)
    }

    /// Runs `body` with the accounts of `--registry` or of the local database.
    func withManager<T>(_ body: (any AccountsManager) async throws -> T) async throws -> T {
        if let remote = try remote() { return try await body(remote) }
        return try await withStore { store in
            let before = try await store.generation()
            let result = try await body(store)
            // A change is not done until the running servers decide with it: a script's next
            // `docker push` must see it.
            if try await store.generation() != before, !(try await store.waitUntilApplied()) {
                FileHandle.standardError.write(Data("note: a running server has not applied this change yet; it will within seconds\n".utf8))
            }
            return result
        }
    }

    /// The installed package's configuration, used when nothing else is given and there is
    /// no `./data` here.
    static let packagedConfig = "/etc/berth/config.yml"

    /// `--config`, else the package's config when this directory has no data directory.
    var effectiveConfig: String? {
        if config != nil || data != nil || accounts != nil { return config }
        if !FileManager.default.fileExists(atPath: "data"), FileManager.default.fileExists(atPath: Self.packagedConfig) {
            return Self.packagedConfig
        }
        return nil
    }

    func location() throws -> AccountDatabaseLocation {
        if let accounts { return try AccountDatabaseLocation(parsing: accounts) }
        var configuration = try ConfigLoading.load(effectiveConfig)
        if let data { configuration.storage = .filesystem(rootDirectory: data) }
        if case .inMemory = configuration.storage, configuration.tokenAuth?.accounts == nil {
            throw CLIFailure("this configuration keeps its accounts in memory; nothing to manage from outside")
        }
        return try AuthAssembly.accountsLocation(configuration)
    }

    /// The static `users` and `acl` of the configuration's auth_config.yml, if it has one.
    func staticAuthConfiguration() throws -> AuthConfiguration? {
        guard accounts == nil, let yaml = try ConfigLoading.load(effectiveConfig).tokenAuth?.serverYAML else { return nil }
        return try AuthConfiguration.parse(yaml: yaml)
    }

    func open() async throws -> AccountStore {
        var logger = Logger(label: "berth")
        logger.logLevel = .warning
        let location = try location()
        try checkExists(location)
        try actAsDatabaseOwner(location)
        do {
            return try await AccountStore.open(location, logger: logger)
        } catch {
            throw CLIFailure("cannot open the accounts database \(location): \(error)")
        }
    }

    /// A SQLite database found from a data directory or a config must exist: creating an
    /// empty one where the user guessed wrong would report success while the running server
    /// never sees the change. Naming it with `--accounts sqlite:PATH` creates it.
    func checkExists(_ location: AccountDatabaseLocation) throws {
        guard accounts == nil, case .sqlite(let given) = location else { return }
        let path = URL(fileURLWithPath: given).standardizedFileURL.path
        let configFile = effectiveConfig
        let source = data != nil ? "--data \(data!)" : configFile != nil ? "the storage of --config \(configFile!)" : "./data, the default data directory"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIFailure("""
                no accounts database at \(path) (from \(source)).
                Give the data directory of the running server (--data DIR), its config (--config FILE), \
                the server itself (--registry http://HOST:PORT), or create one with --accounts sqlite:PATH.
                """)
        }
        if data == nil, config == nil {
            FileHandle.standardError.write(Data("using the accounts database at \(path) (\(source); --data, --config or --registry to choose)\n".utf8))
        }
    }

    /// Run as root (sudo) on a SQLite database another user owns (the packaged service's
    /// `berth`), the command acts as that user: files SQLite creates beside the database
    /// (its journal) must stay writable by the server.
    func actAsDatabaseOwner(_ location: AccountDatabaseLocation) throws {
        guard geteuid() == 0, case .sqlite(let path) = location else { return }
        var st = stat()
        guard stat(path, &st) == 0, st.st_uid != 0 else { return }
        guard setgid(st.st_gid) == 0, setuid(st.st_uid) == 0 else {
            throw CLIFailure("cannot act as the owner (uid \(st.st_uid)) of \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Runs `body` with the store open, closing it afterwards.
    func withStore<T>(_ body: (AccountStore) async throws -> T) async throws -> T {
        let store = try await open()
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// Who runs the command, for the audit log.
    static var actor: AuditActor {
        let environment = ProcessInfo.processInfo.environment
        // The person behind sudo, else the login name, else the process's own user (cron and
        // containers often set no USER).
        let name = environment["SUDO_USER"] ?? environment["USER"] ?? getpwuid(geteuid()).flatMap { String(validatingCString: $0.pointee.pw_name) }
        return AuditActor("cli:" + (name ?? "uid \(geteuid())"))
    }
}

enum CLIDate {
    /// `YYYY-MM-DD` (the account or rule works through that day, UTC) or an ISO 8601 time.
    static func parse(_ text: String) throws -> Date {
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = TimeZone(identifier: "UTC")
        day.dateFormat = "yyyy-MM-dd"
        if text.count == 10, let start = day.date(from: text) { return start.addingTimeInterval(86_400) }
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        throw ValidationError("expected a date YYYY-MM-DD or an ISO 8601 time, got \(text)")
    }

    static func show(_ date: Date?) -> String {
        date.map { ISO8601DateFormatter().string(from: $0) } ?? "-"
    }
}

enum CLIOutput {
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) {
        let all = [header] + rows.map { $0.map(printable) }
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        for row in all {
            print(row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  "))
        }
    }
}

extension CLIOutput {
    /// A cell as the terminal should see it: control characters (newlines, escape codes,
    /// C1 and bidirectional controls) written as `\n`, `\u{1B}`…, so a name cannot forge
    /// rows or drive the terminal.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x00..<0x20, 0x7F..<0xA0, 0x200B...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF:
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// `KEY=VALUE` options; repeated keys collect several values.
enum LabelOptions {
    static func parse(_ pairs: [String]) throws -> [String: [String]] {
        var labels: [String: [String]] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("labels are KEY=VALUE, got \(pair)")
            }
            labels[String(pair[..<equals]), default: []].append(String(pair[pair.index(after: equals)...]))
        }
        return labels
    }

    static func show(_ labels: [String: [String]]) -> String {
        labels.isEmpty ? "-" : labels.keys.sorted().map { "\($0)=\(labels[$0]!.joined(separator: ","))" }.joined(separator: " ")
    }
}
