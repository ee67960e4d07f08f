import OCI
import Accounts
import ArgumentParser
import Config
import Foundation
import Logging
import Assembly
import Storage

/// Options shared by backup and restore: which registry storage to use.
struct StorageOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The registry's config.yml (its storage section is used); without one, ./data.")
    var config: String?

    /// The store `berth serve` would use with this configuration (or `path`, given as a
    /// positional argument by commands that accept Distribution's syntax).
    /// The SQLite accounts database file this configuration uses, if it is one.
    func accountsFile() throws -> String? {
        let configuration = try ConfigLoading.load(config)
        guard configuration.tokenAuth != nil, case .sqlite(let path) = try AuthAssembly.accountsLocation(configuration) else { return nil }
        return path
    }

    func store(_ path: String? = nil) throws -> RegistryStore {
        let configuration = try ConfigLoading.load(config ?? path)
        if case .inMemory = configuration.storage {
            throw CLIFailure("the configuration uses in-memory storage: there is nothing on disk to work on")
        }
        return try BerthServer.makeStore(configuration, logger: Logger(label: "berth"))
    }
}

/// Runs a copy with a progress line on a terminal, then prints its report.
func copyRegistry(from source: any StorageDriver, to destination: any StorageDriver, json: Bool, verb: String) async throws {
    let progress = TerminalProgress()
    let report = try await RegistryCopier(from: source, to: destination).run { phase, done, total in
        progress.update(phase.rawValue, done, total)
    }
    progress.finish()
    if json {
        try printJSON(encodable: report)
        return
    }
    for line in report.skipped { print("skipped \(line)") }
    let empty = report.emptyRepositories
    let emptyNote = empty.isEmpty ? "" : " (\(empty.count) of them empty, so absent from the copy: \(empty.prefix(10).joined(separator: ", "))\(empty.count > 10 ? ", …" : ""))"
    print("""
        \(verb) \(report.repositories - empty.count) repositories\(emptyNote): \(report.manifests) manifests, \(report.tags) tags, \
        \(report.blobsCopied) blobs (\(ByteSize(bytes: report.bytesCopied).description)) copied, \(report.blobsPresent) already present, \
        \(report.accountFiles) account and key files
        """)
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the registry into a directory, consistently, while it serves.",
        discussion: """
        DEST gets Distribution's layout (any registry can serve it) plus Berth's accounts and \
        keys (readable by the owner only). Blobs are copied and verified first, manifests \
        and tags after, so the backup never references a missing blob. Running it again \
        into the same DEST copies only new blobs.
        """)

    @Argument(help: "The backup directory (created if needed).")
    var destination: String

    @OptionGroup var storage: StorageOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        try await copyRegistry(from: try storage.store().driver, to: try FilesystemDriver(rootDirectory: destination),
                               json: json, verb: "backed up")
        if let file = try storage.accountsFile(), FileManager.default.fileExists(atPath: file) {
            try await copyAccounts(from: file, to: "\(destination)/\(accountsFileInStorage)", quiet: json)
        }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup into the registry's storage, verifying every blob's digest.",
        discussion: "The storage must hold no repositories, unless --merge is given.")

    @Argument(help: "A directory written by `berth backup` (or any Distribution data directory).")
    var source: String

    @OptionGroup var storage: StorageOptions

    @Flag(help: "Restore into a storage that already holds repositories, adding to them.")
    var merge = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        guard FileManager.default.fileExists(atPath: "\(source)/docker/registry/v2") else {
            throw CLIFailure("\(source) does not hold a registry (no docker/registry/v2 inside)")
        }
        let target = try storage.store()
        if !merge, !(try await target.allRepositories().isEmpty) {
            throw CLIFailure("the target storage already holds repositories; restore into an empty one or pass --merge")
        }
        try await copyRegistry(from: try FilesystemDriver(rootDirectory: source), to: target.driver, json: json, verb: "restored")
        let backup = "\(source)/\(accountsFileInStorage)"
        if FileManager.default.fileExists(atPath: backup), let file = try storage.accountsFile() {
            if FileManager.default.fileExists(atPath: file) {
                if !json { print("kept the accounts database already at \(file)") }
            } else {
                try await copyAccounts(from: backup, to: file, quiet: json)
            }
        }
    }
}

/// Where a zero-configuration Berth keeps its accounts database, relative to the storage root.
let accountsFileInStorage = BerthLayout.accountsDatabase

/// Copies an SQLite accounts database consistently (it may be in use by `berth serve`).
func copyAccounts(from source: String, to destination: String, quiet: Bool) async throws {
    var logger = Logger(label: "berth")
    logger.logLevel = .warning
    let store = try await AccountStore.open(.sqlite(path: source), logger: logger)
    do {
        try await store.copySQLite(to: destination)
        await store.close()
    } catch {
        await store.close()
        throw error
    }
    if !quiet { print("copied the accounts database to \(destination)") }
}
