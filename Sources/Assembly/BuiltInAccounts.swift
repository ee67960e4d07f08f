import Accounts
import Auth
import Config
import Foundation
import HTTPTypes
import Logging
import Server
import Storage

/// The zero-configuration accounts: `admin`, created on first run with a random password
/// that is printed once and kept only as a bcrypt hash, with the rule that makes it an
/// administrator. A data directory from before the database keeps its admin password.
enum BuiltInAccounts {
    static let legacyAdminPath = BerthLayout.legacyAdminPassword

    /// Where the first-run banner says the registry is.
    struct Serving {
        var url: String
        var loginHost: String
        var notes: [String] = []
        /// Where to write the first admin's password instead of printing it (a service
        /// whose standard output goes to a journal).
        var passwordFile: String?

        init(_ config: RegistryConfiguration) {
            passwordFile = config.firstRunPasswordFile
            let (host, port) = (try? config.listenAddress()) ?? ("0.0.0.0", 5000)
            let everywhere = host == "0.0.0.0" || host == "::"
            let scheme = config.tls == nil ? "http" : "https"
            let shown = config.httpHost.flatMap { URL(string: $0)?.host.map { h in URL(string: config.httpHost!)?.port.map { "\(h):\($0)" } ?? h } }
                ?? "\(everywhere ? "THIS-HOST" : host.contains(":") ? "[\(host)]" : host):\(port)"
            let prefix = config.httpPrefix == "/" ? "" : String(config.httpPrefix.dropLast())
            url = "\(scheme)://\(shown)\(prefix)"
            loginHost = shown
            if everywhere { notes.append("It listens on every interface (port \(port)); THIS-HOST is this machine's name or address.") }
            if config.tls == nil {
                notes.append("Plain HTTP: docker needs \"insecure-registries\": [\"\(shown)\"] in /etc/docker/daemon.json (127.0.0.0/8 is")
                notes.append("allowed by default), podman and skopeo --tls-verify=false; or configure http.tls.")
            }
        }
    }

    static func bootstrap(_ directory: AccountDirectory, store: RegistryStore, serving: Serving) async throws {
        let accounts = directory.store
        guard try await accounts.user("admin") == nil, try await accounts.audit(limit: 1, action: "bootstrap").isEmpty else { return }
        if let existing = try? await store.driver.getContent(legacyAdminPath, maxSize: 1024), !existing.isEmpty {
            let hash = String(decoding: existing, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            // It existed before the database recorded creation times: its refresh tokens
            // (moved in from the storage) are its own.
            _ = try await accounts.bootstrap(admin: "admin", passwordHash: hash, createdAt: Date(timeIntervalSince1970: 0),
                                             by: AuditActor("berth (migrated from berth/accounts/admin.bcrypt)"))
            try await directory.refresh()
            return
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let password = String((0..<24).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        let hash = PasswordHash.make(password, cost: 10)
        // The file first: an account whose password could not be handed over would be lost.
        if let file = serving.passwordFile { try writePasswordFile(file, password) }
        let created: Bool
        do {
            created = try await accounts.bootstrap(admin: "admin", passwordHash: hash, by: AuditActor("berth (first start)"))
        } catch {
            if let file = serving.passwordFile { unlink(file) }
            throw error
        }
        guard created else {
            // Another replica created it first and handed over its own password.
            if let file = serving.passwordFile { unlink(file) }
            return
        }
        try await directory.refresh()
        var shown = """
            Berth created the account "admin" with the password:

                \(password)

            It is shown only this once; only its bcrypt hash is kept.
            """
        if let file = serving.passwordFile {
            shown = """
                Berth created the account "admin"; its password is in \(file)
                (readable by this service's user only). Read it, then delete the file:
                only its bcrypt hash is kept.
                """
        }
        // Standard output, not the log: the password must not end up in log collectors.
        FileHandle.standardOutput.write(Data("""
            ================================================================
            \(shown)
            Registry:     \(serving.url)
            Web UI:       \(serving.url)/ui/
            Log in with:  docker login -u admin \(serving.loginHost)
            Add accounts: berth user add NAME; rights: berth acl add
            \(serving.notes.joined(separator: "\n"))
            ================================================================

            """.utf8))
    }

    /// Created, never overwritten, mode 0600 from the start.
    static func writePasswordFile(_ path: String, _ password: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ConfigError("cannot create the first admin's password file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array((password + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw ConfigError("cannot write the first admin's password file \(path): \(String(cString: strerror(errno)))")
        }
    }
}
