import ArgumentParser
import Auth
import Foundation
import Assembly
import Storage

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Token signing keys.",
        subcommands: [Generate.self, Export.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token signing key (P-256) and its self-signed certificate.",
            discussion: """
            With --key and --certificate, writes PEM files for an auth_config.yml (token.key, \
            token.certificate) and a registry's auth.token.rootcertbundle. Otherwise replaces \
            the key `berth serve` keeps in its data directory (restart it afterwards; tokens \
            signed by the old key stop working, refresh tokens stay valid).
            """)

        @Option(help: "Write the private key here (mode 0600).") var key: String?
        @Option(help: "Write the certificate here.") var certificate: String?
        @Option(help: "The data directory of `berth serve` (its storage root).") var data = "./data"
        @Option(help: "The certificate's common name.") var commonName = "Berth token signing"
        @Option(help: "Validity in days.") var days = 3650
        @Flag(help: "Replace existing files or the stored key.") var force = false

        func validate() throws {
            guard (key == nil) == (certificate == nil) else { throw ValidationError("give both --key and --certificate, or neither") }
            guard days > 0 else { throw ValidationError("--days must be positive") }
        }

        func run() async throws {
            let generated = try SigningKey.generate(commonName: commonName, validity: Double(days) * 86400)
            if let key, let certificate {
                for path in [key, certificate] where FileManager.default.fileExists(atPath: path) && !force {
                    throw CLIFailure("\(path) exists; pass --force to replace it")
                }
                try Self.write(generated.keyPEM, to: key, mode: 0o600)
                try Self.write(try generated.certificatesPEM(), to: certificate, mode: 0o644)
                print("wrote \(key) and \(certificate) (key id \(generated.libtrustKeyID))")
                return
            }
            let driver = try FilesystemDriver(rootDirectory: data)
            if try await driver.exists(AuthAssembly.signingKeyPath), !force {
                throw CLIFailure("\(data) already has a signing key; pass --force to replace it (then restart berth serve)")
            }
            try await AuthAssembly.storeSigningKey(generated, in: driver)
            print("stored a new signing key in \(data) (key id \(generated.libtrustKeyID)); restart berth serve to use it")
        }

        static func write(_ text: String, to path: String, mode: Int) throws {
            let temporary = path + ".tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
                throw CLIFailure("cannot write \(path)")
            }
            if rename(temporary, path) != 0 {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw CLIFailure("cannot write \(path): \(reason)")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the token signing certificate, for a registry's auth.token.rootcertbundle.")

        @Option(help: "The data directory of `berth serve` (its storage root).")
        var data = "./data"

        func run() async throws {
            let driver = try FilesystemDriver(rootDirectory: data)
            guard let pem = try? await driver.getContent(AuthAssembly.signingCertificatePath, maxSize: 64 * 1024) else {
                throw CLIFailure("no signing certificate under \(data): run `berth serve` once, or `berth keys generate`")
            }
            FileHandle.standardOutput.write(Data(pem))
        }
    }
}
